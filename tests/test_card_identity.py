"""A run's identity is its card's content: an edited label map or inputs template (same card version) is a new run,
and a release refuses records trained on other card content, naming the field. A release carries the cards it was
built from, so a copy of a user's own benchmark release verifies from any folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.xdist_group("card_identity")

RUN = ("--seeds", "1", "--set", "epochs=1", "--set", "max_length=64", "--set", "bootstrap_resamples=0",
       "--set", "select=last", "--quiet")
CARD = Path("tasks") / "mine" / "opinie.yaml"


def benchkit(root: Path, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *map(str, args)], cwd=cwd or root,
                          capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1", "BENCHKIT_CACHE": str(root / ".cache")})


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory, tiny_polish_model: Path) -> dict[str, Path]:
    """A user's own benchmark (new suite + new task on a Polish TSV task with a hidden-label test file) and one
    finished run of the tiny model on it."""
    from test_walkthrough import write_raw_files

    root = tmp_path_factory.mktemp("identity") / "mine-bench"
    root.mkdir()
    write_raw_files(root / "raw")
    ok(benchkit(root, "new", "suite", "mine", "--language", "pol-Latn", "--title", "Mine"))
    (root / "raw" / "opinie").rename(root / "data" / "mine" / "opinie")
    files = sorted((root / "data" / "mine" / "opinie").iterdir())
    ok(benchkit(root, "new", "task", *[p.relative_to(root) for p in files], "--suite", "mine", "--yes"))
    ok(benchkit(root, "run", "mine", "--model", tiny_polish_model, *RUN))
    return {"root": root, "model": tiny_polish_model}


def records(runs: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(runs.rglob("record.json")) if "releases" not in p.parts]


def edit_card(root: Path, old: str, new: str) -> None:
    path = root / CARD
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_an_edited_label_map_is_a_new_run_and_the_old_records_are_refused_naming_it(bench: dict[str, Path],
                                                                                     tmp_path: Path) -> None:
    root = tmp_path / "bench"
    shutil.copytree(bench["root"], root, symlinks=True)
    old_runs = tmp_path / "old-results"
    shutil.copytree(root / "results", old_runs)
    (before,) = records(root / "results")
    assert before["provenance"]["card"]["labels.names"]
    # the same version, the labels swapped: the old records' predictions mean the opposite now
    edit_card(root, "labels: {names: [negatywny, pozytywny]}",
              "labels: {names: [negatywny, pozytywny], map: {negatywny: pozytywny, pozytywny: negatywny}}")
    again = ok(benchkit(root, "run", "mine", "--model", bench["model"], *RUN))
    after = records(root / "results")
    assert len(after) == 2, again.stdout + again.stderr  # trained, not skipped as done
    (new,) = [r for r in after if r["config_hash"] != before["config_hash"]]
    assert new["task"] == before["task"] and "labels.map" in new["provenance"]["card"]

    refused = benchkit(root, "release", "mine", "--version", "0.1.0", "--runs", old_runs)
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert refused.returncode == 2 and len(lines) == 1, refused.stdout + refused.stderr
    (line,) = lines
    record = next(old_runs.rglob("record.json"))
    assert line.startswith(f"error: {record}") and "labels.map" in line and str(CARD) in line
    assert "bump its version and rerun" in line and "Traceback" not in refused.stderr
    assert not (old_runs / "releases").exists()  # nothing written


def test_the_configuration_hash_covers_the_inputs_template(bench: dict[str, Path], tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    from benchkit.cards import catalog
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.train.models import resolve_model
    from benchkit.cards.identity import card_fields, changed_card_fields

    root = tmp_path / "bench"
    shutil.copytree(bench["root"], root, symlinks=True)
    monkeypatch.chdir(root)
    model = resolve_model(str(bench["model"]))

    def plan() -> tuple[str, dict[str, str]]:
        catalog._task_card.cache_clear()  # the card file is edited in place
        suite = catalog.load_suite("mine")
        (spec,) = build_plan(suite, list(suite.tasks), [model], [1], "full", RecipeLayers({}, {}),
                             root / "data" / "mine", tmp_path / "out")
        return spec.config_hash, card_fields(spec.card)

    first, fields = plan()
    edit_card(root, "fields: {text: tekst, label: ocena}",
              'fields: {label: ocena}\ninputs:\n  text: {template: "Opinia: {tekst}"}')
    second, edited = plan()
    assert first != second
    assert changed_card_fields(fields, edited) == ["fields.text", "inputs.text.template"]
    edit_card(root, "description: 'opinie", "description: 'Opinie")  # words about the task are not its content
    assert plan()[0] == second
    catalog._task_card.cache_clear()


def test_a_copied_release_of_a_user_benchmark_verifies_from_any_folder(bench: dict[str, Path],
                                                                        tmp_path: Path) -> None:
    root = tmp_path / "bench"
    shutil.copytree(bench["root"], root, symlinks=True)
    ok(benchkit(root, "release", "mine", "--version", "0.1.0"))
    built = root / "results" / "releases" / "mine" / "0.1.0"
    manifest = json.loads((built / "manifest.json").read_text())
    copies = [f["copy"] for f in manifest["suite"]["files"]] + [f["copy"] for t in manifest["tasks"] for f in t["files"]]
    assert sorted(copies) == ["cards/benchmarks/mine.yaml", "cards/tasks/mine/opinie.yaml"]
    assert all(c in manifest["files"] for c in copies)
    moved = tmp_path / "elsewhere" / "0.1.0"
    shutil.copytree(built, moved)
    away = tmp_path / "somewhere-else"
    away.mkdir()
    verified = benchkit(root, "release", "verify", moved, "--data-dir", root / "data" / "mine", cwd=away)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # the copy is what is checked: an edited copy of the card is named
    card = moved / "cards" / "tasks" / "mine" / "opinie.yaml"
    card.write_text(card.read_text(encoding="utf-8").replace("metrics: [accuracy]", "metrics: [macro_f1]"),
                    encoding="utf-8")
    changed = benchkit(root, "release", "verify", moved, "--data-dir", root / "data" / "mine", cwd=away)
    assert changed.returncode == 2 and "task card mine/opinie changed since the release" in changed.stderr, (
        changed.stdout + changed.stderr)


def test_old_records_without_card_content_are_released_with_a_warning(bench: dict[str, Path], tmp_path: Path) -> None:
    root = tmp_path / "bench"
    shutil.copytree(bench["root"], root, symlinks=True)
    (path,) = [p for p in (root / "results").rglob("record.json")]
    data = json.loads(path.read_text())
    del data["provenance"]["card"]  # as benchkit wrote records before they carried the card's content
    path.write_text(json.dumps(data, indent=2))
    built = ok(benchkit(root, "release", "mine", "--version", "0.1.0"))
    (warning,) = [line for line in built.stderr.splitlines() if "predate card content" in line]
    assert warning.startswith("warning: 1 record(s) of mine/opinie") and "rerun them" in warning


def test_latency_is_measured_in_the_runs_precision_on_a_seeded_sample(bench: dict[str, Path],
                                                                      tiny_model: Path) -> None:
    import datasets
    import torch
    import transformers

    from benchkit.train.costs import LATENCY_SEED, inference_latency, latency_sample

    (record,) = records(bench["root"] / "results")
    costs = record["costs"]
    assert (costs["inference_split"], costs["inference_precision"], costs["inference_sample_seed"]) == (
        "dev", record["provenance"]["hardware"]["precision"], LATENCY_SEED)
    assert costs["inference_batch_size"] == 16  # the whole dev split: 16 rows, fewer than a batch

    tokenizer = transformers.AutoTokenizer.from_pretrained(str(tiny_model))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(str(tiny_model), num_labels=2)
    texts = [f"example number {i} " + "word " * (i % 7) for i in range(50)]
    dataset = datasets.Dataset.from_dict(dict(tokenizer(texts)))
    seen: list[torch.dtype] = []
    model.classifier.register_forward_hook(lambda module, args, output: seen.append(output.dtype))
    collate = transformers.DataCollatorWithPadding(tokenizer, return_tensors="pt")
    cpu = torch.device("cpu")
    half = inference_latency(model, dataset, collate, cpu, "dev", "bf16")
    assert set(seen) == {torch.bfloat16} and (half.precision, half.split, half.batch_size) == ("bf16", "dev", 32)
    seen.clear()
    full = inference_latency(model, dataset, collate, cpu, "dev", "fp32")
    assert set(seen) == {torch.float32} and full.precision == "fp32" and full.ms_per_example > 0
    sample = latency_sample(50, 32)
    assert sample == latency_sample(50, 32) == sorted(sample) and sample != list(range(32)) and len(set(sample)) == 32
