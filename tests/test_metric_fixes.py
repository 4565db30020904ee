"""Per-type span F1 chunks BILOU/BIOES tags as the overall F1 does; AX-g's pairs are checked against the data (each
consecutive pair shares its hypothesis, as jiant's winogender scorer asserts) instead of trusting row order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from card_helpers import card_with_rows
from conftest import FIXTURES, REPO

from benchkit.cards import catalog
from benchkit.errors import BenchkitError
from benchkit.validation.frames import load_frames
from benchkit.metrics import compute_metric

# ---------------------------------------------------------------------------------------------------------------
# per-type F1 under BILOU / BIOES

# gold: PER (0,0), LOC (2,3), PER (5,7); predicted: PER (0,0), PER (1,1), LOC (2,3), PER (5,6) cut short
BILOU_GOLD = [["U-PER", "O", "B-LOC", "L-LOC", "O", "B-PER", "I-PER", "L-PER"]]
BILOU_PRED = [["U-PER", "U-PER", "B-LOC", "L-LOC", "O", "B-PER", "L-PER", "O"]]
BIOES_GOLD = [[t.replace("U-", "S-").replace("L-", "E-") for t in s] for s in BILOU_GOLD]
BIOES_PRED = [[t.replace("U-", "S-").replace("L-", "E-") for t in s] for s in BILOU_PRED]


@pytest.mark.parametrize(("scheme", "gold", "pred"), [("BILOU", BILOU_GOLD, BILOU_PRED),
                                                      ("BIOES", BIOES_GOLD, BIOES_PRED)])
@pytest.mark.parametrize("mode", ["conll", "strict"])
def test_per_type_f1_chunks_like_the_overall_f1(scheme: str, gold: list[list[str]], pred: list[list[str]],
                                                mode: str) -> None:
    # by hand: PER gold 2, predicted 3, right 1 (the U-/S- at 0) -> P 1/3, R 1/2, F1 0.4; LOC 1 of 1 -> 1.0
    options = {"mode": mode, "scheme": scheme}
    per = compute_metric("seqeval_f1_type", gold, pred, entity_type="PER", **options)
    loc = compute_metric("seqeval_f1_type", gold, pred, entity_type="LOC", **options)
    assert (per, loc) == (pytest.approx(0.4), pytest.approx(1.0))
    # the overall F1 chunks the same spans: micro over PER+LOC = 2 right of 4 predicted and 3 gold
    assert compute_metric("seqeval_f1", gold, pred, **options) == pytest.approx(2 * 2 / (4 + 3))
    assert compute_metric("seqeval_f1_macro", gold, pred, **options) == pytest.approx((per + loc) / 2)


# ---------------------------------------------------------------------------------------------------------------
# AX-g pairs

AXG = FIXTURES / "superglue" / "AX-g" / "AX-g.jsonl"


def axg_copy(folder: Path, order: list[int]) -> tuple[Path, Path]:
    """(card, data dir): the fixture's real AX-g rows (2i, 2i+1 share a hypothesis) written in ``order``."""
    lines = AXG.read_text(encoding="utf-8").splitlines()
    data = folder / "data"
    (data / "AX-g").mkdir(parents=True)
    (data / "AX-g" / "AX-g.jsonl").write_text("".join(lines[i] + "\n" for i in order), encoding="utf-8")
    return card_with_rows(folder / "axg.yaml", "superglue/axg", {"test": len(order)}), data


def test_the_official_pairs_pass(tmp_path: Path) -> None:
    card_path, data = axg_copy(tmp_path, list(range(6)))
    frame = load_frames(catalog.load_task(str(card_path)), data, ["test"])["test"]
    assert list(frame["id"]) == ["0", "1", "2", "3", "4", "5"]


def test_a_mispaired_axg_file_is_one_error_at_its_line(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in AXG.read_text(encoding="utf-8").splitlines()]
    assert all(a["hypothesis"] == b["hypothesis"] for a, b in zip(rows[0::2], rows[1::2]))
    # lines 2 and 3 swapped (a re-sorted file): line 2 now follows line 1 as its pair but holds another hypothesis
    card_path, data = axg_copy(tmp_path, [0, 2, 1, 3, 4, 5])
    with pytest.raises(BenchkitError) as caught:
        load_frames(catalog.load_task(str(card_path)), data, ["test"])
    assert len(caught.value.problems) == 1
    problem = caught.value.problems[0]
    assert (problem.line, problem.field) == (2, "fields.text_pair")
    assert problem.file is not None and problem.file.endswith("AX-g.jsonl")
    assert "2 of 3 pairs differ" in problem.message and rows[2]["hypothesis"] in problem.message

    predictions = tmp_path / "axg-predictions.jsonl"
    predictions.write_text("".join(json.dumps({"id": r["idx"], "prediction": r["label"]}) + "\n" for r in rows),
                           encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "benchkit.cli", "score", str(card_path), str(predictions), "--split",
                           "test", "--data-dir", str(data)], check=False, cwd=REPO, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    [line] = done.stderr.splitlines()
    assert "AX-g.jsonl" in line and ":2" in line and "gender_parity pairs this row with the previous one" in line


def test_an_odd_axg_file_names_its_last_row(tmp_path: Path) -> None:
    card_path, data = axg_copy(tmp_path, [0, 1, 2, 3, 4])
    with pytest.raises(BenchkitError) as caught:
        load_frames(catalog.load_task(str(card_path)), data, ["test"])
    [problem] = caught.value.problems
    assert problem.line == 5 and "the last has no partner" in problem.message

