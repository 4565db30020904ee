"""bench/llm_parity.py: its lm-eval side (lm-evaluation-harness's own sst2/copa configs on local files, the tiny
causal model) and its example-by-example comparison, on a few examples. Skips without lm_eval."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _parity():
    spec = importlib.util.spec_from_file_location("llm_parity", REPO / "bench" / "llm_parity.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lm_eval_run(tiny_causal: Path, tmp_path_factory: pytest.TempPathFactory):
    pytest.importorskip("lm_eval")
    parity = _parity()
    work = tmp_path_factory.mktemp("llm-parity")
    glue = work / "glue"
    (glue / "SST-2").mkdir(parents=True)
    # A GLUE TSV as the official files are: no quoting (a lone double quote stays), trailing spaces kept.
    (glue / "SST-2" / "dev.tsv").write_text(
        'sentence\tlabel\nit \'s a charming and often affecting journey . \t1\nunflinchingly bleak " and desperate \t0\n'
        "a masterpiece four years in the making . \t1\n", encoding="utf-8")
    samples = work / "samples"
    samples.mkdir()
    (samples / "COPA.val.first1.jsonl").write_text(json.dumps(
        {"premise": "The man turned on the faucet.", "choice1": "The toilet filled with water.",
         "choice2": "Water flowed from the spout.", "question": "effect", "label": 1, "idx": 0}) + "\n")
    tasks = ["sst2", "copa"]
    rows = {task: parity.load_rows(task, glue, samples, None) for task in tasks}
    task_dir = parity.materialize_lm_eval_tasks(work, tasks, rows)
    return parity, parity.run_lm_eval(tiny_causal, tasks, task_dir, batch_size=4)


def test_lm_eval_side_logs_every_example_with_lm_evals_prompt(lm_eval_run) -> None:
    _, results = lm_eval_run
    sst2, copa = results["sst2"], results["copa"]
    assert sst2["n"] == 3 and copa["n"] == 1
    first = sst2["examples"][0]
    # lm-eval's own doc_to_text over the TSV cell as read (trailing space kept), " " + each choice as continuation
    assert first["context"] == ("it 's a charming and often affecting journey . \n"
                                "Question: Is this sentence positive or negative?\nAnswer:")
    assert first["continuations"] == [" negative", " positive"]
    assert sst2["examples"][1]["context"].startswith('unflinchingly bleak " and desperate \n')
    assert [e["gold"] for e in sst2["examples"]] == ["positive", "negative", "positive"]
    # COPA: utils.py's text (premise without its full stop + connector); the continuation has the target delimiter
    # and the choice's own leading space
    assert copa["examples"][0]["context"] == "The man turned on the faucet therefore"
    assert copa["examples"][0]["continuations"] == ["  the toilet filled with water.", "  water flowed from the spout."]
    for result in results.values():
        for example in result["examples"]:
            assert len(example["lls"]) == 2 and all(ll < 0 for ll in example["lls"])
            assert example["acc"] == float(example["prediction"] == example["gold"])
        assert result["acc"] == pytest.approx(sum(e["acc"] for e in result["examples"]) / result["n"])
        assert result["requests"] == 2 * result["n"] and result["scoring_s"] > 0
        assert result["tokens"]["bos_prepended"] is False  # this tokenizer adds no BOS, and HFLM adds none either


def test_comparison_counts_identical_choices_and_finds_the_first_difference(lm_eval_run) -> None:
    parity, results = lm_eval_run
    examples = results["sst2"]["examples"]
    same = [{"id": e["id"], "prediction": e["prediction"]} for e in examples]
    assert parity.compare("sst2", examples, same)["identical"] == 3
    flipped = [dict(p) for p in same]
    flipped[1]["prediction"] = "negative" if same[1]["prediction"] == "positive" else "positive"
    comparison = parity.compare("sst2", examples, flipped)
    assert comparison["identical"] == 2 and comparison["differences"][0]["index"] == 1
    # benchkit ids that are not lm-eval's doc ids: matched by order
    by_order = [{"id": f"dev-{i}", "prediction": p["prediction"]} for i, p in enumerate(same)]
    assert parity.compare("sst2", examples, by_order) == {**parity.compare("sst2", examples, same),
                                                          "matched_by": "order"}


def test_benchkit_data_folder_has_the_official_layout_and_child_cards(tmp_path: Path) -> None:
    parity = _parity()
    glue = tmp_path / "glue"
    (glue / "SST-2").mkdir(parents=True)
    (glue / "SST-2" / "train.tsv").write_text("sentence\tlabel\ngood . \t1\n", encoding="utf-8")
    rows = {"sst2": [{"sentence": f"row {i} . ", "label": str(i % 2)} for i in range(10)],
            "copa": [{"premise": "P.", "choice1": "A.", "choice2": "B.", "question": "cause", "label": 0, "idx": 0}]}
    root = parity.write_benchkit_data(tmp_path / "work", ["sst2", "copa"], rows, glue)
    assert (root / "SST-2" / "train.tsv").resolve() == (glue / "SST-2" / "train.tsv").resolve()
    assert (root / "SST-2" / "dev.tsv").read_text().splitlines()[:2] == ["sentence\tlabel", "row 0 . \t0"]
    test = (root / "SST-2" / "test.tsv").read_text().splitlines()
    assert test[:2] == ["index\tsentence", "0\trow 0 . "] and len(test) == 1 + parity.TEST_ROWS
    assert [json.loads(line) for line in (root / "COPA" / "test.jsonl").read_text().splitlines()] == [
        {k: v for k, v in rows["copa"][0].items() if k != "label"}]
    card = (root / "cards" / "sst2.yaml").read_text()
    assert card.startswith(f"extends: {REPO / 'tasks' / 'glue' / 'sst2.yaml'}\nid: parity/sst2\n")
    assert "dev: {rows: 10}" in card and f"test: {{rows: {parity.TEST_ROWS}}}" in card
    assert "leakage" in (root / "cards" / "copa.yaml").read_text()
