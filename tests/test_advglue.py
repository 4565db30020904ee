"""AdvGLUE as an evaluation-only suite, through the CLI as a user runs it, on a fixture in the official dev.json layout
(tests/fixtures/advglue: real AdvGLUE dev rows, see its PROVENANCE.md).

The cards state the published row counts and the fixture holds a few rows per key, so the official cards report one
row-count error per split and nothing else; every other check reads the fixture through cards that extend the
official ones with the fixture counts, placed in a working folder's tasks/advglue/ (cards there win over the
built-in ones), as tests/test_superglue_cards.py does. The oracles share no code with benchkit: json.load of the
file, the label names of the Hugging Face adv_glue loader, and counts in plain Python.

End to end: a tiny model's glue-mini/sst2 run (which keeps its model), then `benchkit run advglue` predicting
advglue/sst2 with that model, then `benchkit release advglue`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO
from test_run import TINY_RECIPE, records, run_cli

from benchkit.cards import catalog
from benchkit.scoring.rules import SCORE_RULES
from benchkit.scoring.scores import SuiteScoreInput, suite_score
from benchkit.contracts.run_records import RunRecord

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("advglue")

DATA = FIXTURES / "advglue"
MINI = REPO / "data" / "glue-mini"
# task -> split -> dev.json key; published rows: HF datasets adv_glue dataset_infos.json, validation num_examples
KEYS = {"advglue/sst2": {"dev": "sst2"}, "advglue/qqp": {"dev": "qqp"},
        "advglue/mnli": {"dev_matched": "mnli", "dev_mismatched": "mnli-mm"}, "advglue/qnli": {"dev": "qnli"},
        "advglue/rte": {"dev": "rte"}}
PUBLISHED = {"sst2": 148, "qqp": 78, "mnli": 121, "mnli-mm": 162, "qnli": 148, "rte": 81}
# The ClassLabel names of the HF adv_glue loader (datasets/adv_glue/adv_glue.py): file integer i -> names[i].
HF_NAMES = {"sst2": ["negative", "positive"], "qqp": ["not_duplicate", "duplicate"],
            "mnli": ["entailment", "neutral", "contradiction"], "mnli-mm": ["entailment", "neutral", "contradiction"],
            "qnli": ["entailment", "not_entailment"], "rte": ["entailment", "not_entailment"]}
EVALUATORS = {"advglue/sst2": ["glue/sst2", "glue-mini/sst2"], "advglue/qqp": ["glue/qqp"],
              "advglue/mnli": ["glue/mnli"], "advglue/qnli": ["glue/qnli"], "advglue/rte": ["glue/rte"]}
ROWS_HINT = "the file may be truncated, modified or another version of the dataset"
SPLITS = [(task, split) for task, splits in KEYS.items() for split in splits]


def benchkit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, timeout=600)


def fixture(key: str, data: Path = DATA) -> list[dict[str, Any]]:
    return json.loads((data / "dev.json").read_text(encoding="utf-8"))[key]


def gold(key: str) -> list[str]:
    return [HF_NAMES[key][row["label"]] for row in fixture(key)]


def write_fixture_cards(folder: Path) -> Path:
    """tasks/advglue/<task>.yaml in ``folder``: the official cards with the fixture's row counts (counted here)."""
    cards = folder / "tasks" / "advglue"
    cards.mkdir(parents=True, exist_ok=True)
    for task, splits in KEYS.items():
        rows = "\n".join(f"  {split}: {{rows: {len(fixture(key))}}}" for split, key in splits.items())
        name = task.split("/")[1]
        (cards / f"{name}.yaml").write_text(f"extends: {REPO / 'tasks' / 'advglue' / name}.yaml\nsplits:\n{rows}\n",
                                            encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture_cards(tmp_path_factory.mktemp("advglue-workspace"))


# ---------------------------------------------------------------------------------------------------------------
# the cards and the score rule


@pytest.mark.parametrize("task", list(KEYS))
def test_cards_state_the_published_facts(task: str) -> None:
    card = catalog.load_task(task)
    assert (card.source.format, card.source.dir, card.fields.id, card.fields.label) == ("json", ".", "idx", "label")
    stated = {name: (split.file, card.split_read(name).records_path, split.rows, split.labels)
              for name, split in card.splits.items()}
    assert stated == {s: ("dev.json", key, PUBLISHED[key], "present") for s, key in KEYS[task].items()}
    assert not any(s.startswith("train") for s in card.splits)  # evaluation only
    key = next(iter(KEYS[task].values()))
    assert card.labels.names == HF_NAMES[key]
    assert card.labels.map == {str(i): name for i, name in enumerate(HF_NAMES[key])}
    assert card.evaluators == EVALUATORS[task]
    for evaluator in card.evaluators:  # the evaluating model's head outputs indices into its card's labels
        assert catalog.load_task(evaluator).labels.names == card.labels.names
    assert [m.name for m in card.metrics] == (["accuracy", "f1"] if task == "advglue/qqp" else ["accuracy"])
    assert card.primary_metric == "accuracy" and card.license.startswith("CC BY-SA 4.0")
    assert "Adversarial GLUE" in card.citation and "NeurIPS 2021" in card.citation


def test_suite_card_and_its_score_rule_reproduce_the_published_leaderboard() -> None:
    suite = catalog.load_suite("advglue")
    assert [t.id for t in suite.tasks] == list(KEYS) and suite.card.score_rule == "advglue"
    assert suite.card.data_dir is None and suite.card.submission_format is None
    # Per-task numbers of the AdvGLUE leaderboard's model pages (adversarialglue.github.io/models/, "AdvGLUE
    # Overall"), x100; the leaderboard's scores are BERT 0.3369 and DeBERTa 0.6086.
    published = {
        "BERT": ({"sst2": 33.028169, "qnli": 39.772727, "rte": 40.460526}, (37.914692, 16.560510),
                 (28.851175, 27.049180), 33.69),
        "DeBERTa": ({"sst2": 57.887324, "qnli": 57.851240, "rte": 78.947368}, (60.426540, 47.975078),
                    (58.355091, 52.459016), 60.86),
    }
    for name, (accuracies, (qqp_acc, qqp_f1), (matched, mismatched), expected) in published.items():
        results: dict[str, Any] = {f"advglue/{t}": {"dev": {"accuracy": v}} for t, v in accuracies.items()}
        results["advglue/qqp"] = {"dev": {"accuracy": qqp_acc, "f1": qqp_f1}}
        results["advglue/mnli"] = {"dev_matched": {"accuracy": matched}, "dev_mismatched": {"accuracy": mismatched}}
        score = suite_score(SuiteScoreInput.from_results(results), "advglue")
        assert round(score.value, 2) == expected, name
    assert "QQP = mean(accuracy, F1)" in SCORE_RULES.get("advglue").label


# ---------------------------------------------------------------------------------------------------------------
# validate, show, score


def test_validate_on_the_fixture(workspace: Path) -> None:
    official = benchkit("validate", "advglue", "--data-dir", str(DATA))
    assert official.returncode == 2 and "Traceback" not in official.stderr
    # The official cards: one row-count error per split (the fixture is an excerpt), nothing else.
    assert official.stderr.splitlines() == [
        f"error: {DATA}/dev.json: splits.{split}.rows: expected {PUBLISHED[key]} rows, found {len(fixture(key))} "
        f"(hint: {ROWS_HINT})" for task, splits in KEYS.items() for split, key in splits.items()]

    started = time.perf_counter()
    result = benchkit("validate", "advglue", "--data-dir", str(DATA), "--json", cwd=workspace)
    seconds = time.perf_counter() - started
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["errors"], report["warnings"], report["suite_problems"]) == (0, 0, [])
    assert {t["task"]: t["rows"] for t in report["tasks"]} == {
        task: {split: len(fixture(key)) for split, key in splits.items()} for task, splits in KEYS.items()}
    assert all(t["status"] == "ok" for t in report["tasks"])
    print(f"validate advglue on the fixture: {seconds:.2f} s (process start included)")


@pytest.mark.parametrize("task", list(KEYS))
def test_show_reports_rows_and_labels(task: str, workspace: Path) -> None:
    result = benchkit("show", task, "--data-dir", str(DATA), "--json", cwd=workspace)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    for split, key in KEYS[task].items():
        entry = info["splits"][split]
        assert entry["rows"] == entry["expected_rows"] == len(fixture(key))
        assert entry["label_distribution"] == {name: gold(key).count(name) for name in HF_NAMES[key]}


def _predictions(path: Path, key: str, every: int = 3) -> list[str]:
    """Every third prediction wrong (the next label), the rest right; written with the file's ids, reversed."""
    names = HF_NAMES[key]
    values = [names[(names.index(g) + 1) % len(names)] if i % every == 0 else g for i, g in enumerate(gold(key))]
    rows = [{"id": row["idx"], "prediction": p} for row, p in zip(fixture(key), values)]
    path.write_text("".join(json.dumps(r) + "\n" for r in reversed(rows)), encoding="utf-8")
    return values


@pytest.mark.parametrize("task,split", SPLITS)
def test_score_equals_an_independent_computation(task: str, split: str, workspace: Path, tmp_path: Path) -> None:
    key = KEYS[task][split]
    predictions = tmp_path / "p.jsonl"
    predicted = _predictions(predictions, key)
    result = benchkit("score", task, str(predictions), "--split", split, "--data-dir", str(DATA), "--json",
                      "--resamples", "0", cwd=workspace)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    truth = gold(key)
    accuracy = sum(p == g for p, g in zip(predicted, truth)) / len(truth)
    expected = {"accuracy": accuracy}
    if task == "advglue/qqp":  # F1 of "duplicate", 0 when undefined
        tp = sum(p == g == "duplicate" for p, g in zip(predicted, truth))
        fp = sum(p == "duplicate" != g for p, g in zip(predicted, truth))
        fn = sum(g == "duplicate" != p for p, g in zip(predicted, truth))
        expected["f1"] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    assert out["metrics"] == pytest.approx(expected, abs=1e-12)
    assert out["score"] == pytest.approx(sum(expected.values()) / len(expected), abs=1e-12)
    assert (out["split"], out["examples"]) == (split, len(truth))
    if key == "sst2":
        assert 0 < accuracy < 1  # 20 rows: a real check, not 0 or 1 by construction


# ---------------------------------------------------------------------------------------------------------------
# bad input: one line, exit 2, no traceback, in validate and in run


def _dev_json_with(tmp_path: Path, extra: dict[str, Any]) -> tuple[Path, int]:
    """A copy of the fixture with extra keys; returns the folder and the line of the first extra key."""
    data = tmp_path / "data"
    data.mkdir()
    doc = json.loads((DATA / "dev.json").read_text(encoding="utf-8"))
    doc.update(extra)
    text = json.dumps(doc, indent=1, ensure_ascii=False)
    (data / "dev.json").write_text(text, encoding="utf-8")
    line = next(i for i, t in enumerate(text.splitlines(), start=1) if t.startswith(f' "{next(iter(extra))}":'))
    return data, line


def test_a_key_no_card_reads_is_one_line_in_validate_and_run(workspace: Path, tmp_path: Path) -> None:
    data, line = _dev_json_with(tmp_path, {"sst-2": fixture("sst2")[:2]})
    expected = [(f"error: {data / 'dev.json'}:{line}: sst-2: no task of suite advglue reads this key (hint: did you "
                 "mean 'sst2'? the suite's cards read sst2, qqp, mnli, mnli-mm, qnli, rte; a new task needs a card "
                 "with read.records_path: sst-2)")]
    validated = benchkit("validate", "advglue", "--data-dir", str(data), cwd=workspace)
    assert "Traceback" not in validated.stdout + validated.stderr
    assert validated.returncode == 2 and validated.stderr.splitlines() == expected
    assert validated.stdout.splitlines()[-1] == "checked 5 task(s), cards and data: 1 error(s), 0 warning(s)"
    ran = benchkit("run", "advglue", "--data-dir", str(data), "--out", str(tmp_path / "out"), cwd=workspace)
    assert "Traceback" not in ran.stdout + ran.stderr
    assert ran.returncode == 2 and ran.stderr.splitlines() == expected
    assert not (tmp_path / "out").exists()  # nothing written


def test_a_malformed_dev_json_gets_the_json_reader_error_once(workspace: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    text = (DATA / "dev.json").read_text(encoding="utf-8")
    (data / "dev.json").write_text(text.rstrip()[:-1], encoding="utf-8")  # the closing brace dropped
    with pytest.raises(json.JSONDecodeError) as fault:
        json.loads(text.rstrip()[:-1])
    ran = benchkit("run", "advglue", "--data-dir", str(data), "--out", str(tmp_path / "out"), cwd=workspace)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.splitlines() == [
        (f"error: {data / 'dev.json'}:{fault.value.lineno}: invalid JSON: {fault.value.msg} at column "
         f"{fault.value.colno} (hint: if the file holds one object per line, use format: jsonl)")]


def test_labels_in_another_order_than_the_evaluating_model_are_refused(workspace: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "cwd"
    shutil.copytree(workspace, cwd)
    card = cwd / "tasks" / "advglue" / "sst2.yaml"
    card.write_text(card.read_text(encoding="utf-8") + "labels:\n  names: [positive, negative]\n", encoding="utf-8")
    line = card.read_text(encoding="utf-8").splitlines().index("  names: [positive, negative]") + 1
    expected = [(f"error: {card}:{line}: labels.names: advglue/sst2 lists its labels as ['positive', 'negative'], but "
                 f"the model of {evaluator} predicts ['negative', 'positive'] (indices into that card's labels) (hint: "
                 f"list the labels in {evaluator}'s order: ['negative', 'positive'])")
                for evaluator in ("glue/sst2", "glue-mini/sst2")]
    validated = benchkit("validate", "advglue", cwd=cwd)
    assert validated.returncode == 2 and validated.stderr.splitlines() == expected
    ran = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(tmp_path / "out"), cwd=cwd)
    assert ran.returncode == 2 and ran.stderr.splitlines() == expected and "Traceback" not in ran.stderr


def test_no_finished_run_to_evaluate_with_says_to_run_glue_first(workspace: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    ran = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), cwd=workspace)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    assert ran.stderr.splitlines() == [
        (f"error: {out / 'runs'}: --out: no finished run of glue/sst2, glue-mini/sst2, glue/qqp, glue/mnli, glue/qnli, "
         f"glue/rte under this folder: nothing to evaluate advglue with (hint: advglue trains nothing; run glue or "
         f"glue-mini first with the same --out (e.g. 'benchkit run glue-mini --out {out}'), then rerun this command)")]
    wrong = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), "--set", "epochs=1", cwd=workspace)
    assert wrong.returncode == 2 and wrong.stderr.splitlines() == [
        ("error: --set: advglue is evaluation-only: nothing is trained, so --set does not apply (hint: the evaluated "
         "runs keep their own recipes; pick the runs to evaluate with --model, --seeds or --method)")]


# ---------------------------------------------------------------------------------------------------------------
# end to end: glue-mini/sst2 (tiny model) -> advglue -> release


@pytest.fixture(scope="module")
def evaluated(workspace: Path, tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("advglue-out")
    trained = run_cli("glue-mini", "--task", "glue-mini/sst2", "--model", str(tiny_model), "--out", str(out),
                      "--quiet", "--no-release", *TINY_RECIPE, cwd=workspace)
    assert trained.returncode == 0, trained.stdout + trained.stderr
    ran = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), cwd=workspace)
    return {"out": out, "trained": trained, "ran": ran}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _glue_mini_dev_gold() -> dict[str, str]:
    """data/glue-mini/SST-2/dev.tsv read by hand: row index -> label string (0 negative, 1 positive)."""
    lines = (MINI / "SST-2" / "dev.tsv").read_text(encoding="utf-8").splitlines()[1:]
    return {str(i): ["negative", "positive"][int(line.rsplit("\t", 1)[1])] for i, line in enumerate(lines)}


def test_runs_keep_their_model(evaluated: dict[str, Any]) -> None:
    from transformers import AutoConfig

    out = evaluated["out"]
    (path, record), = [(p, r) for p, r in records(out).items() if r.task.id == "glue-mini/sst2"]
    assert record.model_dir == "model"
    model = path.parent / "model"
    assert (model / "config.json").is_file() and (model / "tokenizer.json").is_file()
    assert list(model.glob("*.safetensors")) and not list(path.parent.glob(".model.*"))
    assert AutoConfig.from_pretrained(model).id2label == {0: "negative", 1: "positive"}
    assert not (path.parent / "checkpoints").exists()


def test_advglue_record_scores_equal_an_independent_computation(evaluated: dict[str, Any]) -> None:
    out, ran = evaluated["out"], evaluated["ran"]
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    for task in ("advglue/qqp", "advglue/mnli", "advglue/qnli", "advglue/rte"):
        assert f"note: {task}: no finished run of" in ran.stdout
    assert "1 evaluation(s) done, 0 skipped (done earlier), 0 failed" in ran.stdout
    found = records(out)
    (source_path, source), = [(p, r) for p, r in found.items() if r.task.id == "glue-mini/sst2"]
    (path, record), = [(p, r) for p, r in found.items() if r.task.id == "advglue/sst2"]
    assert path.relative_to(out).parts[:3] == ("runs", "advglue", "sst2")
    assert (record.suite.id, record.model, record.method, record.seed) == ("advglue", source.model, source.method, 1)
    assert record.recipe == source.recipe and record.selection == source.selection
    assert record.source is not None and record.source.task.id == "glue-mini/sst2"
    assert record.source.config_hash == source.config_hash
    assert record.source.record == source_path.relative_to(out / "runs").as_posix()
    assert record.source.data["dev"] == source.provenance.data["dev"]
    assert record.costs.train_seconds == 0 and record.provenance.data["dev"].file == "dev.json"
    assert record.provenance.data["dev"].rows == 20

    # AdvGLUE accuracy from the predictions file and the fixture's labels, in plain Python
    predicted = {row["id"]: row["prediction"] for row in _jsonl(path.parent / record.predictions["dev"])}
    truth = {str(row["idx"]): HF_NAMES["sst2"][row["label"]] for row in fixture("sst2")}
    assert set(predicted) == set(truth)
    accuracy = sum(predicted[i] == truth[i] for i in truth) / len(truth)
    assert record.results["dev"].metrics == {"accuracy": pytest.approx(accuracy, abs=1e-12)}
    ci = record.results["dev"].ci
    assert ci is not None and ci["low"] <= accuracy <= ci["high"]

    # The drop: the glue-mini dev accuracy of the source run (its predictions against dev.tsv read by hand) minus it
    source_predicted = {row["id"]: row["prediction"]
                        for row in _jsonl(source_path.parent / source.predictions["dev"])}
    dev = _glue_mini_dev_gold()
    glue_accuracy = sum(source_predicted[i] == dev[i] for i in dev) / len(dev)
    assert glue_accuracy == pytest.approx(source.results["dev"].metrics["accuracy"], abs=1e-12)
    drop = record.drops["dev"]
    assert (drop.split, drop.source_split, drop.source_examples) == ("dev", "dev", len(dev))
    assert drop.source_score == pytest.approx(glue_accuracy, abs=1e-12)
    assert drop.value == pytest.approx(glue_accuracy - accuracy, abs=1e-12)
    assert drop.ci is not None and drop.ci["low"] <= drop.value <= drop.ci["high"]
    assert drop.ci["unit"] == "example, each set resampled independently"
    assert drop.ci["resamples"] == 20 and drop.ci["low"] < drop.ci["high"]
    copied = _jsonl(path.parent / drop.source_predictions)
    assert {r["id"]: (r["gold"], r["prediction"]) for r in copied} == {i: (dev[i], source_predicted[i]) for i in dev}
    assert f"dev accuracy {accuracy * 100:.2f}, drop from glue-mini/sst2 dev {drop.value * 100:.2f}" in ran.stdout


def test_rerun_skips_and_save_model_is_not_part_of_the_configuration(evaluated: dict[str, Any],
                                                                     workspace: Path, tiny_model: Path) -> None:
    out = evaluated["out"]
    before = {p: p.read_bytes() for p in records(out)}
    again = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), cwd=workspace)
    assert again.returncode == 0 and "0 evaluation(s) done, 1 skipped (done earlier), 0 failed" in again.stdout
    switched = run_cli("glue-mini", "--task", "glue-mini/sst2", "--model", str(tiny_model), "--out", str(out),
                       "--quiet", "--no-release", *TINY_RECIPE, "--set", "save_model=false", cwd=workspace)
    assert switched.returncode == 0 and "0 run(s) done, 1 skipped (done earlier), 0 failed" in switched.stdout
    assert {p: p.read_bytes() for p in records(out)} == before


def test_release_shows_the_score_the_drop_and_its_ci(evaluated: dict[str, Any], workspace: Path) -> None:
    out = evaluated["out"]
    result = benchkit("release", "advglue", "--version", "1.0.0", "--runs", str(out), "--data-dir", str(DATA),
                      "--resamples", "200", cwd=workspace)
    assert result.returncode == 0, result.stdout + result.stderr
    folder = out / "releases" / "advglue" / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = manifest["entries"]
    (_path, record), = [(p, r) for p, r in records(out).items() if r.task.id == "advglue/sst2"]
    adv = record.results["dev"].metrics["accuracy"]
    drop = record.drops["dev"]
    assert entry["suite_score"] == pytest.approx(adv) and entry["partial"] is True
    assert entry["drop"]["value"] == pytest.approx(drop.value) and entry["drop"]["sources"] == ["glue-mini/sst2 dev"]
    assert entry["drop"]["source_score"] == pytest.approx(drop.source_score)
    low, high = entry["drop"]["ci"]["low"], entry["drop"]["ci"]["high"]
    assert low <= drop.value <= high and low < high
    assert entry["drop"]["tasks"]["advglue/sst2"]["value"] == pytest.approx(drop.value)
    (run,) = manifest["runs"]
    assert run["source_run"] == {"task": "glue-mini/sst2", "config_hash": record.source.config_hash,
                                 "splits": {"dev": "dev"}}
    assert set(run["predictions"]) == {"dev", "source:dev"}
    # Releases copy records and predictions, never model weights.
    assert not [p for p in folder.rglob("*") if p.name == "model" or p.suffix in (".safetensors", ".bin")]

    markdown = (folder / "leaderboard.md").read_text(encoding="utf-8")
    pct = f"{drop.value * 100:.2f}"
    ci = f"[{low * 100:.2f}, {high * 100:.2f}]"
    assert "| suite score | drop | sst2 |" in markdown
    assert f"| {adv * 100:.2f} [" in markdown and f"| {pct} {ci} |" in markdown
    assert f"{adv * 100:.2f} (drop {pct} {ci}) |" in markdown
    assert "Drop: the score of the same models on the dev split(s) their runs were evaluated on (glue-mini/sst2 dev)" \
        in markdown
    assert "AdvGLUE score (leaderboard rule" in markdown
    html = (folder / "leaderboard.html").read_text(encoding="utf-8")
    assert 'data-key="drop"' in html and f"drop {pct} {ci}" in html
    results = _jsonl(folder / "results.jsonl")
    assert results[0]["source_task"] == "glue-mini/sst2" and results[0]["metrics.dev.drop"] == pytest.approx(drop.value)
    verified = benchkit("release", "verify", str(folder), "--data-dir", str(DATA), cwd=workspace)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_source_run_without_its_model_gets_a_warning_with_a_hint(evaluated: dict[str, Any], workspace: Path,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(evaluated["out"] / "runs" / "glue-mini", out / "runs" / "glue-mini")
    (source,) = list((out / "runs").rglob("record.json"))
    shutil.rmtree(source.parent / "model")
    ran = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), cwd=workspace)
    assert ran.returncode == 2 and "Traceback" not in ran.stderr
    warning = (f"warning: {source}: model_dir: the glue-mini/sst2 run kept no model, so advglue/sst2 cannot be "
               "predicted with it (hint: runs keep their model unless --set save_model=false (or made before benchkit "
               "kept models): move that run's folder away and run it again to retrain it)")
    assert warning in ran.stdout.splitlines()
    assert ran.stderr.splitlines() == [
        (f"error: {out / 'runs'}: model_dir: none of the 1 source run(s) kept its model: nothing to evaluate (hint: "
         "rerun those runs (their folders moved away) so that they keep their models)")]


def test_the_source_data_of_a_suite_that_ships_none_comes_from_reference_data_dir(
        evaluated: dict[str, Any], workspace: Path, tmp_path: Path, glue_dir: Path) -> None:
    """The glue-mini run's folder filed as a glue/sst2 run on the same files (a glue/sst2 run made with --data-dir
    data/glue-mini and a card with that folder's row counts writes the same record but for its task id and hash):
    GLUE ships no data, so the drop needs the run's data folder, and a folder with other files is refused by their
    sha256."""
    cwd = tmp_path / "cwd"
    shutil.copytree(workspace, cwd)
    (cwd / "tasks" / "glue").mkdir()
    (cwd / "tasks" / "glue" / "sst2.yaml").write_text(
        f"extends: {REPO / 'tasks' / 'glue' / 'sst2.yaml'}\nsplits:\n  train: {{rows: 1500}}\n  dev: {{rows: 436}}\n"
        "  test: {rows: 436}\n", encoding="utf-8")
    workspace = cwd
    out = tmp_path / "out"
    (source,) = [p for p in (evaluated["out"] / "runs" / "glue-mini").rglob("record.json")]
    target = out / "runs" / "glue" / "sst2" / source.parent.relative_to(source.parents[3])
    shutil.copytree(source.parent, target)
    data = json.loads((target / "record.json").read_text(encoding="utf-8"))
    data["suite"]["id"], data["task"]["id"], data["config_hash"] = "glue", "glue/sst2", "0" * 64
    (target / "record.json").write_text(json.dumps(data), encoding="utf-8")
    file = f"SST-2/dev.tsv, sha256 {data['provenance']['data']['dev']['sha256'][:12]}"

    missing = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), cwd=workspace)
    assert missing.returncode == 2 and missing.stderr.splitlines() == [
        (f"error: {target / 'record.json'}: --reference-data-dir: cannot find the dev data of the glue/sst2 run "
         f"({file}) to compute the drop (hint: pass --reference-data-dir DIR, the --data-dir of the glue runs)")]
    other = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), "--reference-data-dir",
                     str(glue_dir), cwd=workspace)
    assert other.returncode == 2 and other.stderr.splitlines() == [
        (f"error: {target / 'record.json'}: --reference-data-dir: the dev data of the glue/sst2 run ({file}) differ "
         f"from {glue_dir / 'SST-2' / 'dev.tsv'} (hint: pass --reference-data-dir with the data that run used (its "
         "--data-dir))")]
    assert not (out / "runs" / "advglue").exists()
    found = benchkit("run", "advglue", "--data-dir", str(DATA), "--out", str(out), "--reference-data-dir", str(MINI),
                     cwd=workspace)
    assert found.returncode == 0, found.stdout + found.stderr
    (record,) = [RunRecord.parse(json.loads(p.read_text())) for p in (out / "runs" / "advglue").rglob("record.json")]
    assert record.source is not None and record.source.task.id == "glue/sst2"
    (original,) = [r for r in records(evaluated["out"]).values() if r.task.id == "advglue/sst2"]
    assert record.drops["dev"].value == pytest.approx(original.drops["dev"].value)
