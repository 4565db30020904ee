"""Selection labels say the truth: a card with labelled test splits selects the epoch on dev and reports test, so
its scores carry no "selected on dev" badge and a search on it does not claim a holdout of train; the seed whose
predictions go into a submission archive is recorded, with the rule that chose it, in the manifest and the
datasheet."""

from __future__ import annotations

import contextlib
import json
import random
from pathlib import Path

import pytest
from release_helpers import SUITE, invoke, shared_runs
from test_card_identity import benchkit, ok

pytestmark = pytest.mark.xdist_group("selection_labels")

TEXTS = {"dobry": ["Świetna książka, polecam", "Znakomity film i mądry", "Obsługa miła, jedzenie pyszne"],
         "zły": ["Nudna i źle napisana", "Fatalna jakość sprzętu", "Jedzenie zimne, obsługa opryskliwa"]}


def labelled_test_benchmark(root: Path) -> None:
    """A user's benchmark whose task publishes its test labels (as LEPISZCZE and CoNLL-2003 do)."""
    rng = random.Random(0)
    ok(benchkit(root, "new", "suite", "lab", "--language", "pol-Latn", "--title", "Lab"))
    folder = root / "data" / "lab" / "opinie"
    folder.mkdir(parents=True)
    for split, count in (("train", 40), ("dev", 16), ("test", 16)):
        rows = ["tekst\tocena"]
        for i in range(count):
            label = rng.choice(sorted(TEXTS))
            rows.append(f"{rng.choice(TEXTS[label])} ({split} {i})\t{label}")
        (folder / f"{split}.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    made = ok(benchkit(root, "new", "task", *[f"data/lab/opinie/{s}.tsv" for s in ("train", "dev", "test")],
                       "--suite", "lab", "--yes"))
    assert "test 16" in made.stdout and "labels: hidden" not in (root / "tasks" / "lab" / "opinie.yaml").read_text()


def test_a_card_reporting_test_is_not_badged_selected_on_dev_nor_searched_on_a_holdout(
        tmp_path: Path, tiny_polish_model: Path) -> None:
    root = tmp_path / "lab-bench"
    root.mkdir()
    labelled_test_benchmark(root)
    ok(benchkit(root, "search", "lab", "--model", tiny_polish_model, "--trials", "1", "--no-baseline", "--seeds", "1",
                "--set", "epochs=1", "--set", "max_length=64", "--set", "bootstrap_resamples=0", "--quiet",
                "--release", "0.1.0"))
    (state_path,) = (root / "results" / "searches" / "lab").glob("*/search.json")
    selection = json.loads(state_path.read_text())["selection"]
    assert selection["on_dev"] is False and selection["holdout"] is None
    assert "holdout" not in selection["label"] and "reported on test" in selection["label"]
    (record,) = [json.loads(p.read_text()) for p in (root / "results" / "runs").rglob("record.json")]
    assert sorted(record["results"]) == ["test"] and record["selection"]["split"] == "dev"  # dev chose, test reports

    release = root / "results" / "releases" / "lab" / "0.1.0"
    board = (release / "leaderboard.md").read_text(encoding="utf-8")
    html = (release / "leaderboard.html").read_text(encoding="utf-8")
    assert "best epoch on dev, reported on test" in board and "**selected on dev**" not in board
    assert 'class="badge dev"' not in html
    (entry,) = json.loads((release / "manifest.json").read_text())["entries"]
    assert entry["selected_on_dev"] == "" and "best epoch on dev, reported on test" in entry["selection_text"]
    assert "holdout of train" not in entry["selection_text"]
    rows = [json.loads(line) for line in (release / "results.jsonl").read_text().splitlines()]
    assert [r["selected_on_dev"] for r in rows] == [False]

    # a search.json written before searches named the tasks reporting test: restated from the runs by the release
    state = json.loads(state_path.read_text())
    state["selection"] = {"on_dev": False, "label": "selected on a 10% holdout of train",
                          "holdout": {"fraction": 0.1, "seed": 0, "stratify": True},
                          "objective": state["selection"]["objective"]}
    state_path.write_text(json.dumps(state))
    ok(benchkit(root, "release", "lab", "--version", "0.1.1"))
    (entry,) = json.loads((release.parent / "0.1.1" / "manifest.json").read_text())["entries"]
    assert entry["searches"][0]["selection"]["label"] == "selected on dev, reported on test (dev is not reported)"
    assert "holdout of train" not in entry["selection_text"] and entry["selected_on_dev"] == ""


def test_the_submission_seed_and_its_rule_are_in_the_manifest_and_the_datasheet(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path, tiny_model: Path) -> None:
    from benchkit.release.submission_writers import SEED_RULE

    runs = shared_runs(tmp_path_factory, tiny_model)
    with contextlib.chdir(tmp_path):
        built = invoke("release", SUITE, "--version", "1.0.0", "--runs", runs, "--out", tmp_path / "releases",
                       "--resamples", "0")
    assert built.exit_code == 0, built.output
    folder = tmp_path / "releases" / SUITE / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    (archive,) = [s for s in manifest["submissions"] if s["archive"]]
    assert archive["seed_rule"] == SEED_RULE and "ties: the lowest seed" in SEED_RULE
    records = {rel: json.loads((runs / rel).read_text()) for rel in archive["runs"].values()}
    assert archive["seeds"] == {task: records[rel]["seed"] for task, rel in archive["runs"].items()}
    sheet = (folder / "datasheet.md").read_text(encoding="utf-8")
    assert f"Submission archives: {SEED_RULE}." in sheet
    line = next(x for x in sheet.splitlines() if x.startswith(f"- `{archive['archive']}`"))
    for task, seed in archive["seeds"].items():
        assert f"{task} seed {seed}" in line
