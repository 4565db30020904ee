"""`benchkit score` end to end on real GLUE dev files, checked against sklearn/scipy on the same predictions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef

from conftest import REPO


def benchkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300)


def _gold(path: Path, header: bool, label_column: int) -> list[str]:
    lines = [l for l in path.read_text(encoding="utf-8-sig").split("\n") if l]
    return [l.split("\t")[label_column] for l in lines[1 if header else 0:]]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_score_mrpc_matches_sklearn(glue_dir: Path, tmp_path: Path) -> None:
    gold = _gold(glue_dir / "MRPC/dev.tsv", True, 0)
    rng = np.random.default_rng(7)
    flips = rng.random(len(gold)) < 0.2
    pred = [("1" if g == "0" else "0") if f else g for g, f in zip(gold, flips)]
    names = {"0": "not_equivalent", "1": "equivalent"}
    # ids as JSON ints, in shuffled order: ids are matched, not positions.
    rows = [{"id": i, "prediction": names[p]} for i, p in enumerate(pred)]
    rows = [rows[i] for i in rng.permutation(len(rows))]
    result = benchkit("score", "glue/mrpc", str(_write(tmp_path / "p.jsonl", rows)), "--data-dir", str(glue_dir),
                      "--json", "--resamples", "200")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    f1 = f1_score([int(g) for g in gold], [int(p) for p in pred])
    acc = accuracy_score(gold, pred)
    assert out["metrics"]["f1"] == pytest.approx(f1, abs=1e-12)
    assert out["metrics"]["accuracy"] == pytest.approx(acc, abs=1e-12)
    assert out["score"] == pytest.approx((f1 + acc) / 2, abs=1e-12)
    assert out["examples"] == 408 and out["split"] == "dev"
    ci = out["ci"]
    assert ci["low"] < out["score"] < ci["high"]
    assert (ci["resamples"], ci["level"], ci["method"], ci["unit"]) == (200, 0.95, "percentile", "example")


def test_score_cola_mcc_and_stsb_correlations(glue_dir: Path, tmp_path: Path) -> None:
    gold = _gold(glue_dir / "CoLA/dev.tsv", False, 1)
    pred = ["acceptable" if (g == "1") != (i % 5 == 0) else "unacceptable" for i, g in enumerate(gold)]
    out = json.loads(benchkit("score", "glue/cola", str(_write(tmp_path / "cola.jsonl", [
        {"id": str(i), "prediction": p} for i, p in enumerate(pred)])), "--data-dir", str(glue_dir), "--json",
        "--resamples", "0").stdout)
    expected = matthews_corrcoef(gold, ["1" if p == "acceptable" else "0" for p in pred])
    assert out["metrics"]["mcc"] == pytest.approx(expected, abs=1e-12) and out["ci"] is None

    scores = [float(v) for v in _gold(glue_dir / "STS-B/dev.tsv", True, 9)]
    noisy = [s + 0.7 * np.sin(i) for i, s in enumerate(scores)]
    result = benchkit("score", "glue/stsb", str(_write(tmp_path / "stsb.jsonl", [
        {"id": str(i), "prediction": p} for i, p in enumerate(noisy)])), "--data-dir", str(glue_dir), "--resamples", "0")
    assert result.returncode == 0, result.stderr
    assert f"pearson      {pearsonr(noisy, scores)[0] * 100:7.2f}" in result.stdout
    assert f"spearman     {spearmanr(noisy, scores)[0] * 100:7.2f}" in result.stdout


def test_score_errors_list_the_offending_ids(glue_dir: Path, tmp_path: Path) -> None:
    rows = [{"id": i, "prediction": "entailment"} for i in range(71)]
    rows[3] = {"id": 3, "prediction": "1"}
    rows[4] = {"id": 4, "prediction": "entailed"}
    rows[70] = {"id": 999, "prediction": "entailment"}
    rows.append({"id": 5, "prediction": "entailment"})
    path = _write(tmp_path / "wnli.jsonl", rows)
    result = benchkit("score", "glue/wnli", str(path), "--data-dir", str(glue_dir))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        f"error: {path}: id: duplicate prediction ids: '5' (hint: give each example exactly one prediction)",
        f"error: {path}: id: 1 prediction id(s) not in the gold split: '999' (hint: gold ids look like '0', '1', '2' "
        "(the card's id column or the 0-based row index))",
        f"error: {path}: id: 1 gold example(s) have no prediction: '70' (hint: predict every example of the split)",
        f"error: {path}: prediction: unknown label(s) ['1', 'entailed'] for id(s) '3', '4' (hint: predictions use the "
        "official label strings ['not_entailment', 'entailment']; file codes map as {'1': 'entailment', "
        "'entailed': None})",
    ]


def test_score_refuses_hidden_labels_and_bad_json(glue_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": 0, "prediction": "positive"}\n{"id": 1, prediction}\n', encoding="utf-8")
    hidden = benchkit("score", "glue/sst2", str(path), "--split", "test", "--data-dir", str(glue_dir))
    assert hidden.returncode == 2
    assert hidden.stderr.strip() == ("error: --split: split 'test' of glue/sst2 has hidden labels: nothing to score "
                                     "against (hint: score dev instead (--split dev); GLUE keeps the test labels on "
                                     "its server: submit test predictions at https://gluebenchmark.com/)")
    bad = benchkit("score", "glue/sst2", str(path), "--data-dir", str(glue_dir))
    assert bad.returncode == 2
    assert bad.stderr.splitlines()[0] == (f"error: {path}:2: invalid JSON: Expecting property name enclosed in double "
                                          "quotes (hint: each line is one object: {\"id\": ..., \"prediction\": ...})")
