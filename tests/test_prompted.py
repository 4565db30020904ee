"""Generative language models on the same cards: zero- and few-shot runs of a tiny config-built causal model
(Llama architecture, tests/conftest.py ``tiny_causal``) through the real CLI, their records, and one release
whose leaderboard ranks them beside a fine-tuned MiniLM; the answer modes; the bad inputs, each one line, exit 2,
nothing written."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchkit.contracts.run_records import RunRecord
from benchkit.train.prompted import draw_shots

from conftest import FIXTURES, REPO, minilm_folder

pytestmark = pytest.mark.xdist_group("prompted")

MINI = REPO / "data" / "glue-mini"
FAST = ["--set", "bootstrap_resamples=20", "--quiet"]


def cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=900, env=env)


def records(out: Path) -> list[RunRecord]:
    return [RunRecord.parse(json.loads(p.read_text())) for p in sorted((out / "runs").rglob("record.json"))]


def small_sst2(root: Path, rows: int, prompt: str = "") -> tuple[Path, Path]:
    """A card of its own (mine/sst2, extending the built-in glue/sst2 and its prompt) over the first ``rows`` rows
    of each glue-mini SST-2 file; ``prompt`` is YAML added under the card's prompt: block. Returns (card, data)."""
    data = root / "data" / "SST-2"
    data.mkdir(parents=True)
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        lines = (MINI / "SST-2" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (data / name).write_text("".join(lines[:rows + 1]), encoding="utf-8")
    card = root / "tasks" / "mine" / "sst2.yaml"
    card.parent.mkdir(parents=True)
    card.write_text(f"extends: {REPO / 'tasks' / 'glue' / 'sst2.yaml'}\nid: mine/sst2\n"
                    f"splits:\n  train: {{rows: {rows}}}\n  dev: {{rows: {rows}}}\n  test: {{rows: {rows}}}\n"
                    + (f"prompt:\n{prompt}" if prompt else ""), encoding="utf-8")
    return card, root / "data"


def gold(split: str) -> dict[str, str]:
    with (MINI / "SST-2" / f"{split}.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return {str(i): {"0": "negative", "1": "positive"}[r["label"]] for i, r in enumerate(rows)}


# -- done when: zero-shot and few-shot beside a fine-tuned MiniLM, in one release --------------------------------


@pytest.fixture(scope="module")
def ranked(tiny_causal: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ranked")
    task = ["glue-mini", "--task", "glue-mini/sst2", "--out", out, "--no-release", *FAST]
    for extra in (["--model", tiny_causal, "--mode", "zero-shot"],
                  ["--model", tiny_causal, "--mode", "few-shot", "--set", "shots=2"],
                  ["--model", minilm_folder(), "--set", "epochs=1", "--set", "max_train_samples=64"]):
        result = cli("run", *task, *extra, cwd=out)
        assert result.returncode == 0, result.stdout + result.stderr
    result = cli("release", "glue-mini", "--version", "1.0.0", "--runs", out, "--out", out / "releases", cwd=out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_zero_and_few_shot_records_say_how_the_model_was_asked(ranked: Path) -> None:
    by_mode = {r.prompting.mode if r.prompting else "fine-tune": r for r in records(ranked)}
    assert set(by_mode) == {"zero-shot", "few-shot", "fine-tune"}
    zero, few = by_mode["zero-shot"], by_mode["few-shot"]
    for record, shots in ((zero, 0), (few, 2)):
        asked = record.prompting
        assert asked.shots == shots and asked.answer == "loglikelihood" and asked.backend == "transformers"
        assert asked.prompt_source.startswith("lm-evaluation-harness") and len(asked.prompt_sha256) == 64
        assert asked.chat_template is False  # the tiny tokenizer has no chat template
        assert record.selection.rule == "none" and record.costs.trainable_parameters == 0
        assert record.costs.tokens_processed > 0 and record.costs.examples_per_second > 0
        assert record.costs.peak_memory_bytes > 0 and record.costs.inference_ms_per_example > 0
        assert 0.0 <= asked.acc_norm["dev"] <= 1.0
    for record in (zero, few):  # the reported accuracy, recomputed from the predictions file (official strings)
        folder = next(p.parent for p in (ranked / "runs").rglob("record.json")
                      if json.loads(p.read_text())["config_hash"] == record.config_hash)
        predicted = [json.loads(line) for line in (folder / "predictions" / "dev.jsonl").read_text().splitlines()]
        truth = gold("dev")
        assert [p["id"] for p in predicted] == list(truth)
        accuracy = sum(p["prediction"] == truth[p["id"]] for p in predicted) / len(predicted)
        assert record.results["dev"].metrics["accuracy"] == pytest.approx(accuracy)
        assert (folder / "predictions" / "test.jsonl").is_file()
    assert zero.config_hash != few.config_hash and zero.method.name == "zero-shot" and few.method.options == {"shots": 2}


def test_one_leaderboard_ranks_prompted_models_beside_the_fine_tuned_one(ranked: Path) -> None:
    release = ranked / "releases" / "glue-mini" / "1.0.0"
    board = (release / "leaderboard.md").read_text(encoding="utf-8")
    header = next(line for line in board.splitlines() if line.startswith("| # |"))
    assert "| mode |" in header
    rows = [line for line in board.splitlines() if line.startswith("| ") and line[2].isdigit()]
    modes = {cells[4].strip() for cells in (row.split("|") for row in rows)}
    assert modes == {"zero-shot", "2-shot", "fine-tuned"}, board
    assert "prompts: glue-mini/sst2" in board  # the prompt named, with its hash
    manifest = json.loads((release / "manifest.json").read_text())
    assert sorted(e["mode"] for e in manifest["entries"]) == ["2-shot", "fine-tuned", "zero-shot"]
    results = [json.loads(line) for line in (release / "results.jsonl").read_text().splitlines()]
    assert {r["mode"] for r in results} == {"zero-shot", "2-shot", "fine-tuned"}
    assert "| mode |" in (release / "leaderboard.md").read_text() and (release / "leaderboard.html").is_file()
    verified = cli("release", "verify", release, "--skip-data", cwd=ranked)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def test_a_rerun_skips_the_prompted_runs_already_done(ranked: Path, tiny_causal: Path) -> None:
    result = cli("run", "glue-mini", "--task", "glue-mini/sst2", "--out", ranked, "--no-release", "--model",
                 tiny_causal, "--mode", "zero-shot", *FAST, cwd=ranked)
    assert result.returncode == 0 and "0 run(s) done, 1 skipped" in result.stdout, result.stdout + result.stderr


# -- shots: stratified, seeded per example -----------------------------------------------------------------------


def test_shots_are_stratified_and_seeded() -> None:
    pool = [{"id": str(i), "label": "positive" if i % 4 else "negative"} for i in range(40)]
    drawn = draw_shots(pool, 4, seed=1, key="dev:7", target="class")
    assert sorted(r["label"] for r in drawn) == ["negative", "negative", "positive", "positive"]
    assert drawn == draw_shots(pool, 4, seed=1, key="dev:7", target="class")  # a rerun draws the same
    others = [draw_shots(pool, 4, seed=s, key="dev:7", target="class") for s in range(2, 8)]
    assert any(o != drawn for o in others)  # each seed draws other shots
    assert len({r["id"] for r in drawn}) == 4  # without replacement
    assert draw_shots(pool, 0, seed=1, key="x", target="class") == []


# -- answer modes --------------------------------------------------------------------------------------------------


def test_generated_answers_are_parsed_and_their_fallback_share_recorded(tiny_causal: Path, tmp_path: Path) -> None:
    card, data = small_sst2(tmp_path / "bench", 12, "  answer: generate\n  max_new_tokens: 4\n")
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", tiny_causal, "--mode", "zero-shot", "--out", out,
                 *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = records(out)
    stats = record.prompting.parse["dev"]
    assert record.prompting.answer == "generate" and sum(stats.counts.values()) == 12
    assert set(stats.counts) <= {"exact", "normalised", "edit_distance", "unparsed"}
    share = (stats.counts.get("edit_distance", 0) + stats.counts.get("unparsed", 0)) / 12
    assert stats.fallback_share == pytest.approx(share, abs=1e-4) and stats.flagged == (share >= 0.10)
    predicted = [json.loads(line)["prediction"] for line in
                 next((out / "runs").rglob("predictions/dev.jsonl")).read_text().splitlines()]
    assert set(predicted) <= {"negative", "positive"} and len(predicted) == 12


def test_a_chat_template_is_applied_and_recorded_unless_turned_off(tiny_causal_chat: Path, tmp_path: Path) -> None:
    card, data = small_sst2(tmp_path / "bench", 8)
    seen = {}
    for setting in ("auto", "off"):
        out = tmp_path / setting
        result = cli("run", card, "--data-dir", data, "--model", tiny_causal_chat, "--mode", "zero-shot", "--out", out,
                     "--set", f"chat_template={setting}", *FAST, cwd=tmp_path)
        assert result.returncode == 0, result.stdout + result.stderr
        (record,) = records(out)
        seen[setting] = record
    assert seen["auto"].prompting.chat_template is True and seen["off"].prompting.chat_template is False
    assert seen["auto"].config_hash != seen["off"].config_hash


def test_shots_that_do_not_fit_the_window_are_dropped_last_first_and_recorded(tmp_path: Path) -> None:
    from conftest import _tiny_causal_builder

    small = _tiny_causal_builder()(tmp_path / "short-window", window=96)
    card, data = small_sst2(tmp_path / "bench", 10)
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", small, "--mode", "few-shot", "--set", "shots=8",
                 "--out", out, *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = records(out)
    assert record.prompting.window == 96 and record.prompting.truncated.get("dev", 0) > 0
    assert record.prompting.fewest_shots is not None and record.prompting.fewest_shots < 8
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning") and "lose shots" in line)
    assert "window of 96 tokens" in warning and "never cut" in warning


def test_shots_outside_few_shot_are_refused(tiny_causal: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_causal, "--mode", "zero-shot",
                 "--set", "shots=3", "--out", out, *FAST, cwd=tmp_path)
    _refused(result, out, "shots is for --mode few-shot")


# -- bad input: one line, exit 2, nothing written --------------------------------------------------------------


def _refused(result: subprocess.CompletedProcess[str], out: Path, *words: str) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    assert not (out / "runs").exists() or not any((out / "runs").rglob("*.json*"))
    return errors[0]


def test_an_encoder_is_refused_for_zero_shot(tiny_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--mode", "zero-shot",
                 "--out", out, *FAST, cwd=tmp_path)
    _refused(result, out, "--model", "not a causal", "hint")


def test_more_shots_than_train_examples_are_refused(tiny_causal: Path, tmp_path: Path) -> None:
    card, data = small_sst2(tmp_path / "bench", 6)
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", tiny_causal, "--mode", "few-shot", "--set", "shots=7",
                 "--out", out, *FAST, cwd=tmp_path)
    _refused(result, out, "7 shots", "6 example(s)", "shots=6")


def test_an_input_longer_than_the_window_is_refused_never_cut(tmp_path: Path) -> None:
    from conftest import _tiny_causal_builder

    tiny_window = _tiny_causal_builder()(tmp_path / "tiny-window", window=16)
    card, data = small_sst2(tmp_path / "bench", 6)
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", tiny_window, "--mode", "zero-shot", "--out", out, *FAST,
                 cwd=tmp_path)
    _refused(result, out, "window of 16 tokens", "never cut")


def test_chat_template_on_without_one_is_refused(tiny_causal: Path, tmp_path: Path) -> None:
    card, data = small_sst2(tmp_path / "bench", 6)
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", tiny_causal, "--mode", "zero-shot", "--set",
                 "chat_template=on", "--out", out, *FAST, cwd=tmp_path)
    _refused(result, out, "chat template", "chat_template")


def test_a_method_with_zero_shot_is_refused(tiny_causal: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = cli("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_causal, "--mode", "zero-shot",
                 "--method", "lora", "--out", out, *FAST, cwd=tmp_path)
    _refused(result, out, "--method")


@pytest.mark.parametrize(("prompt", "words"), [
    ("  input: '{sentence}'\n", ["'sentence'", "not a role", "prompt.input"]),
    ("  verbalizers: {negative: bad}\n", ["no verbaliser for label 'positive'", "prompt.verbalizers"]),
    ("  verbalizers: {negative: good, positive: good}\n", ["one verbaliser", "prompt.verbalizers"]),
    ("  verbalizers: {negative: bad, positive: good, neutral: meh}\n", ["'neutral'", "not a label"]),
    ("  input: '{text|shout}'\n", ["unknown filter 'shout'"]),
])
def test_a_broken_prompt_is_one_problem_at_its_line(prompt: str, words: list[str], tiny_causal: Path,
                                                    tmp_path: Path) -> None:
    card, data = small_sst2(tmp_path / "bench", 6, prompt)
    if "verbalizers" in prompt:  # replace the inherited verbalisers rather than merge into them: a card of its own
        text = card.read_text().replace(f"extends: {REPO / 'tasks' / 'glue' / 'sst2.yaml'}\n",
                                        f"extends: {REPO / 'tasks' / 'glue' / '_glue.yaml'}\n")
        base = (REPO / "tasks" / "glue" / "sst2.yaml").read_text(encoding="utf-8")
        body = base.split("prompt:")[0].replace("extends: _glue.yaml\n", "").replace("id: glue/sst2", "id: mine/sst2")
        text = f"extends: {REPO / 'tasks' / 'glue' / '_glue.yaml'}\n" + body + "prompt:\n  input: '{text}'\n" + prompt
        card.write_text(text, encoding="utf-8")
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", tiny_causal, "--mode", "zero-shot", "--out", out, *FAST,
                 cwd=tmp_path)
    line = _refused(result, out, *words)
    assert str(card) in line and ":" in line.split(str(card))[1][:6]  # file:line


def test_the_vllm_backend_without_a_gpu_is_refused(tiny_causal: Path, tmp_path: Path) -> None:
    card, data = small_sst2(tmp_path / "bench", 6)
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", tiny_causal, "--mode", "zero-shot", "--set",
                 "backend=vllm", "--out", out, *FAST, cwd=tmp_path)
    _refused(result, out, "vllm", "backend=transformers")


# -- regression and tagging -----------------------------------------------------------------------------------------


def test_regression_is_the_expected_value_over_numeric_verbalisers(tiny_causal: Path, tmp_path: Path) -> None:
    """STS-B's built-in prompt scores the numbers 0-5; each prediction is their probability-weighted mean."""
    data = tmp_path / "data" / "STS-B"
    data.mkdir(parents=True)
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        lines = (MINI / "STS-B" / name).read_text(encoding="utf-8").splitlines(keepends=True)
        (data / name).write_text("".join(lines[:13]), encoding="utf-8")
    card = tmp_path / "tasks" / "mine" / "stsb.yaml"
    card.parent.mkdir(parents=True)
    card.write_text(f"extends: {REPO / 'tasks' / 'glue' / 'stsb.yaml'}\nid: mine/stsb\n"
                    "splits:\n  train: {rows: 12}\n  dev: {rows: 12}\n  test: {rows: 12}\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", tmp_path / "data", "--model", tiny_causal, "--mode", "few-shot",
                 "--set", "shots=2", "--out", out, *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = records(out)
    assert record.prompting.answer == "loglikelihood" and "pearson" in record.results["dev"].metrics
    predicted = [json.loads(line)["prediction"] for line in
                 next((out / "runs").rglob("predictions/dev.jsonl")).read_text().splitlines()]
    assert len(predicted) == 12 and all(0.0 <= p <= 5.0 for p in predicted)
    assert len(set(predicted)) > 1  # a weighted mean, not one verbaliser's value


def test_tagging_generates_entities_as_json_scored_by_seqeval(tiny_causal: Path, tmp_path: Path) -> None:
    """CoNLL-2003 (IOB2 files): the entities are generated as JSON and mapped back to one tag per token; malformed
    output counts as no entities and is counted."""
    sizes = {"train": "train.txt", "dev": "valid.txt", "test": "test.txt"}

    def sentences(name: str) -> int:
        blocks = (FIXTURES / "conll2003" / name).read_text(encoding="utf-8").split("\n\n")
        return sum(1 for b in blocks if b.strip() and not b.strip().startswith("-DOCSTART-"))

    card = tmp_path / "tasks" / "mine" / "ner.yaml"
    card.parent.mkdir(parents=True)
    rows = "".join(f"  {split}: {{rows: {sentences(name)}}}\n" for split, name in sizes.items())
    card.write_text(f"extends: {REPO / 'tasks' / 'conll2003' / 'eng-iob2.yaml'}\nid: mine/ner\nsplits:\n{rows}"
                    "prompt:\n  max_new_tokens: 8\n", encoding="utf-8")
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", FIXTURES, "--model", tiny_causal, "--mode", "zero-shot", "--out", out,
                 *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    (record,) = records(out)
    assert record.prompting.answer == "generate"
    stats = record.prompting.parse["dev"]
    assert sum(stats.counts.values()) == sentences("valid.txt")
    assert "seqeval_f1" in record.results["test"].metrics  # CoNLL reports test, with the card's seqeval metrics
    predicted = [json.loads(line)["prediction"] for line in
                 next((out / "runs").rglob("predictions/dev.jsonl")).read_text().splitlines()]
    names = {"O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"}
    assert all(isinstance(tags, list) and set(tags) <= names for tags in predicted)


def test_prompted_runs_pack_on_a_device_and_seeds_draw_other_shots(tiny_causal: Path, tmp_path: Path) -> None:
    card, data = small_sst2(tmp_path / "bench", 16)
    out = tmp_path / "out"
    result = cli("run", card, "--data-dir", data, "--model", tiny_causal, "--mode", "few-shot", "--set", "shots=3",
                 "--seeds", "1,2", "--runs-per-device", "2", "--out", out, *FAST, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    found = records(out)
    assert sorted(r.seed for r in found) == [1, 2] and all(r.prompting.shots == 3 for r in found)
    # each seed asks with other shots: the same prompt, other contexts, so the runs differ in identity and tokens
    assert found[0].config_hash != found[1].config_hash
    assert found[0].costs.tokens_processed != found[1].costs.tokens_processed


def test_a_child_card_with_labels_of_its_own_inherits_no_prompt(tmp_path: Path) -> None:
    """The prompt's verbalisers name the parent's labels: a child that renames them asks with a prompt of its own."""
    from benchkit.cards.catalog import load_task

    card = tmp_path / "tasks" / "mine" / "sst2.yaml"
    card.parent.mkdir(parents=True)
    card.write_text(f"extends: {REPO / 'tasks' / 'glue' / 'sst2.yaml'}\nid: mine/sst2\n"
                    "labels:\n  names: [neg, pos]\n  map: {0: neg, 1: pos}\n", encoding="utf-8")
    assert load_task(str(card)).prompt is None
    assert load_task(str(REPO / "tasks" / "glue-mini" / "sst2.yaml")).prompt is not None  # splits only: inherited
