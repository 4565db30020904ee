"""Score rules as data: built-in suite cards state their rules in a `score:` block, a user's suite card states its
own, rule data is checked against the suite's task cards at load, and `extends:` passes a parent's score data on
only to a child that keeps the parent's rule and tasks."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from benchkit.cards.catalog import load_suite
from benchkit.errors import BenchkitError
from benchkit.scoring.rules import SCORE_RULES
from benchkit.scoring.scores import rule_score

RESULTS = {  # task -> split -> metric, on [0, 1]
    "glue-mini/sst2": {"dev": {"accuracy": 0.9}},
    "glue-mini/cola": {"dev": {"mcc": 0.3}},
    "glue-mini/mrpc": {"dev": {"f1": 0.8, "accuracy": 0.7}},
    "glue-mini/stsb": {"dev": {"pearson": 0.6, "spearman": 0.5}},
}


def _suite(folder: Path, body: str, name: str = "mine.yaml") -> Path:
    path = folder / "benchmarks" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


@pytest.fixture()
def bench(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # the current folder is the user's benchmark
    (tmp_path / ".git").mkdir()
    return tmp_path


@pytest.mark.parametrize("suite", ["glue", "superglue", "klej", "advglue", "lepiszcze"])
def test_each_published_suite_states_its_rule_and_the_named_rule_is_that_data(suite: str) -> None:
    card = load_suite(suite).card
    assert card.score is not None and card.score.get("tasks") or card.score.get("metrics")
    assert card.rule == SCORE_RULES.get(card.score_rule)


def test_a_user_suite_scores_by_the_rule_its_card_states(bench: Path) -> None:
    path = _suite(bench, """\
        id: mine
        version: 0.1.0
        name: Mine
        description: two tasks of glue-mini, one metric each
        languages: [eng-Latn]
        tasks:
          - {id: glue-mini/sst2, version: 1.0.0}
          - {id: glue-mini/mrpc, version: 1.0.0}
          - {id: glue-mini/stsb, version: 1.0.0}
        score_rule: mine
        score:
          label: mean of SST-2 accuracy and MRPC F1
          tasks:
            glue-mini/sst2: [accuracy]
            glue-mini/mrpc: [f1]
          exclude: [glue-mini/stsb]
        """)
    suite = load_suite(str(path))
    score = rule_score(suite, RESULTS)
    assert score.value == pytest.approx((0.9 + 0.8) / 2)
    assert score.label == "mean of SST-2 accuracy and MRPC F1" and score.excluded == ("glue-mini/stsb",)
    # without the score block the same tasks take the mean of each card's score metrics (MRPC: F1 and accuracy)
    plain = _suite(bench, path.read_text(encoding="utf-8").split("score_rule:")[0] + "score_rule: mean\n", "plain.yaml")
    assert rule_score(load_suite(str(plain)), RESULTS).value == pytest.approx((0.9 + 0.75 + 0.55) / 3)


def test_rule_data_naming_a_metric_a_task_does_not_report_is_one_problem_at_its_line(bench: Path) -> None:
    path = _suite(bench, """\
        id: mine
        version: 0.1.0
        name: Mine
        description: a rule naming Spearman for SST-2
        languages: [eng-Latn]
        tasks:
          - {id: glue-mini/sst2, version: 1.0.0}
        score_rule: mine
        score:
          tasks:
            glue-mini/sst2: [spearman]
        """)
    with pytest.raises(BenchkitError) as err:
        load_suite(str(path))
    (problem,) = err.value.problems
    assert "metric 'spearman' of glue-mini/sst2" in problem.message and problem.line == 11
    assert problem.file == str(path.resolve()) and "accuracy" in (problem.hint or "")


def test_a_child_of_a_published_suite_with_its_own_tasks_scores_by_the_named_rule(bench: Path) -> None:
    subset = _suite(bench, f"""\
        extends: {os.path.relpath(load_suite('glue').path, bench / 'benchmarks')}
        id: glue-three
        tasks:
          - {{id: glue/cola, version: 1.0.0}}
          - {{id: glue/sst2, version: 1.0.0}}
          - {{id: glue/rte, version: 1.0.0}}
        """)
    card = load_suite(str(subset)).card
    assert card.score is None and card.rule == SCORE_RULES.get("glue")
    mean = _suite(bench, f"""\
        extends: {os.path.relpath(load_suite('glue').path, bench / 'benchmarks')}
        id: glue-mean
        score_rule: mean
        """, "mean.yaml")
    assert load_suite(str(mean)).card.rule == SCORE_RULES.get("mean")
