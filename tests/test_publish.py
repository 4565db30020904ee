"""``benchkit publish --dry-run``: the folder a release would upload to the Hub. Its dataset card carries metadata the
Hub reads (licence, language, configs, split sizes), its parquet files load with ``datasets.load_dataset`` from the
folder, hidden test labels are absent, and no token appears anywhere."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from release_helpers import SUITE, invoke, shared_runs

pytestmark = pytest.mark.xdist_group("release-runs")

SECRET = "hf_benchkitTestTokenThatMustNeverAppear0123"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    runs = shared_runs(tmp_path_factory, tiny_model)
    root = tmp_path_factory.mktemp("publish")
    built = invoke("release", SUITE, "--version", "1.0.0", "--runs", runs, "--out", root / "releases",
                   "--resamples", "0")
    assert built.exit_code == 0, built.output
    release = root / "releases" / SUITE / "1.0.0"
    folder = root / "hub"
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setenv("HF_TOKEN", SECRET)  # present, as on a maintainer's machine: it must not leak
    try:
        result = invoke("publish", release, "--repo", "benchkit-test/glue-mini", "--dry-run", folder)
    finally:
        monkeypatch.undo()
    assert result.exit_code == 0, result.output
    text = (folder / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n")
    metadata = yaml.safe_load(text.split("---\n")[1])
    return {"folder": folder, "output": result.output, "metadata": metadata, "release": release, "readme": text}


def test_the_dataset_card_has_the_metadata_the_hub_reads(published: dict[str, Any]) -> None:
    from benchkit.cards import catalog

    metadata = published["metadata"]
    assert metadata["language"] == ["en"]
    assert metadata["license"] == "other" and "CC BY-SA 4.0" in metadata["license_details"]
    assert metadata["task_categories"] == ["text-classification"]
    assert [c["config_name"] for c in metadata["configs"]] == ["sst2", "cola", "mrpc", "stsb"]
    for config, info in zip(metadata["configs"], metadata["dataset_info"]):
        card = catalog.load_task(f"glue-mini/{config['config_name']}")
        assert [f["split"] for f in config["data_files"]] == list(card.splits)
        assert {s["name"]: s["num_examples"] for s in info["splits"]} == {
            name: spec.rows for name, spec in card.splits.items()}
    assert "| `sst2` | GLUE SST-2 mini slice | single_text_classification |" in published["readme"]
    assert "## Datasheet" in published["readme"] and "## Citation" in published["readme"]


def test_the_parquet_files_load_with_datasets_and_hide_test_labels(published: dict[str, Any]) -> None:
    import datasets
    import pyarrow.parquet as pq

    folder = published["folder"]
    sst2 = datasets.load_dataset(str(folder), "sst2")
    assert {split: len(rows) for split, rows in sst2.items()} == {"train": 1500, "dev": 436, "test": 436}
    assert set(sst2["train"]["label"]) == {"negative", "positive"}  # the official strings
    assert "label" not in pq.read_schema(folder / "sst2" / "test.parquet").names
    assert set(sst2["test"]["label"]) == {None}  # what datasets fills in for the absent column
    stsb = datasets.load_dataset(str(folder), "stsb", split="dev")
    assert stsb.column_names == ["id", "text", "text_pair", "label"] and isinstance(stsb[0]["label"], float)
    board = folder / "leaderboard"
    assert sorted(p.name for p in board.iterdir()) == ["datasheet.md", "leaderboard.md", "results.jsonl"]
    rows = [json.loads(line) for line in (board / "results.jsonl").read_text().splitlines()]
    assert (board / "results.jsonl").read_bytes() == (published["release"] / "results.jsonl").read_bytes()
    assert {row["task"] for row in rows} == {"glue-mini/sst2", "glue-mini/cola", "glue-mini/mrpc", "glue-mini/stsb"}


def test_no_token_is_written_or_printed(published: dict[str, Any]) -> None:
    assert SECRET not in published["output"]
    for path in published["folder"].rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert "nothing uploaded" in published["output"]
    assert "dry run: 16 file(s)" in published["output"]


def test_a_bad_repo_or_folder_is_one_line(published: dict[str, Any], tmp_path: Path) -> None:
    bad = invoke("publish", published["release"], "--repo", "no-slash", "--dry-run", tmp_path / "x")
    assert bad.exit_code == 2
    assert bad.stderr.strip() == ("error: --repo: --repo must be ORG/NAME, not 'no-slash' (hint: e.g. --repo "
                                  "my-lab/klej-bench)")
    empty = tmp_path / "empty"
    empty.mkdir()
    missing = invoke("publish", empty, "--repo", "a/b", "--dry-run", tmp_path / "y")
    assert missing.exit_code == 2
    assert missing.stderr.strip() == (f"error: {empty}: RELEASE: not a release: no manifest.json (hint: pass a "
                                      "folder written by 'benchkit release', e.g. results/releases/<suite>/<version>)")
