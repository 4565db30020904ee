"""benchkit.scoring.scores: published suite totals, missing/partial handling, seed statistics and bootstrap."""

from __future__ import annotations

import json
import math
import statistics
from functools import partial
from pathlib import Path

import numpy as np
import pytest

from benchkit.errors import BenchkitError
from benchkit.metrics import compute_metric
from benchkit.scoring.bootstrap import bootstrap_ci, paired_bootstrap
from benchkit.scoring.rules import SCORE_RULES
from benchkit.scoring.scores import (
    SuiteScoreInput,
    TaskScoreInput,
    aggregate_seeds,
    result_score,
    seed_stats,
    suite_score,
    task_score,
)

ROWS = json.loads((Path(__file__).parent / "fixtures" / "published_rows.json").read_text())
DIAGNOSTICS = ("glue/ax", "superglue/axb", "superglue/axg")


def suite_input(results: dict, **kwargs) -> SuiteScoreInput:
    return SuiteScoreInput.from_results(results, not_scored=DIAGNOSTICS, **kwargs)


# ---------------------------------------------------------------------------------------------------------------
# task scores


def test_task_score_and_result_score() -> None:
    assert task_score({"f1": 89.3, "accuracy": 85.4}) == pytest.approx(87.35)
    assert task_score({"f1": 89.3, "accuracy": 85.4, "f1_micro": 0.0}, ["f1", "accuracy"]) == pytest.approx(87.35)
    mnli = {"dev_matched": {"accuracy": 86.7}, "dev_mismatched": {"accuracy": 85.9}}
    assert result_score(mnli) == pytest.approx(86.3)
    with pytest.raises(BenchkitError, match=r"\['spearman'\] missing"):
        task_score({"pearson": 0.9}, ["pearson", "spearman"])
    with pytest.raises(BenchkitError, match="at least one"):
        task_score({})


# ---------------------------------------------------------------------------------------------------------------
# published totals


def published(suite: str) -> list:
    return [pytest.param(row, id=name) for name, row in ROWS[suite].items()]


@pytest.mark.parametrize("row", published("glue"))
def test_glue_score_reproduces_leaderboard(row: dict) -> None:
    score = suite_score(suite_input(row["results"]), "glue")
    assert round(score.value, row["decimals"]) == row["score"]
    assert not score.partial and score.excluded == ("glue/ax",)
    mnli = row["results"]["glue/mnli"]
    expected = (mnli["test_matched"]["accuracy"] + mnli["test_mismatched"]["accuracy"]) / 2
    assert score.task_scores["glue/mnli"] == pytest.approx(expected)  # MNLI counted once, as mean(m, mm)
    assert "AX excluded" in score.label and score.describe(scale=1) == f"{score.label}: {row['score']:.1f}"


def test_glue_paper_average_is_a_different_labelled_convention() -> None:
    row = ROWS["glue"]["bert-large"]
    paper = suite_score(suite_input(row["results"]), "glue_paper_average")
    assert round(paper.value, 1) == row["paper_average"] == 82.1
    assert "NOT the leaderboard" in paper.label
    assert len(paper.task_scores) == 9 and "glue/mnli[test_mismatched]" in paper.task_scores
    assert set(paper.excluded) == {"glue/wnli", "glue/ax"}
    assert round(suite_score(suite_input(row["results"]), "glue").value, 1) != 82.1


@pytest.mark.parametrize("row", published("superglue"))
def test_superglue_score_reproduces_leaderboard(row: dict) -> None:
    score = suite_score(suite_input(row["results"]), "superglue")
    assert round(score.value, row["decimals"]) == row["score"]
    assert set(score.excluded) == {"superglue/axb", "superglue/axg"} and len(score.task_scores) == 8


@pytest.mark.parametrize("row", published("klej"))
def test_klej_score_reproduces_published(row: dict) -> None:
    score = suite_score(SuiteScoreInput.from_results(row["results"]), "klej")
    assert round(score.value, row["decimals"]) == row["score"]
    assert round(score.value, row["stated_decimals"]) == row["stated"]


@pytest.mark.parametrize("row", published("lepiszcze"))
def test_lepiszcze_average_over_datasets(row: dict) -> None:
    """LEPISZCZE publishes per-dataset macro-F1 (its results JSONs' metrics_avg), not a total: each published
    dataset number is the rule's entry for it, beside accuracy and weighted F1 that the rule must ignore."""
    results = {task: {"test": {**splits["test"], "accuracy": 99.0, "f1_weighted": 1.0, "seqeval_f1": 99.0}}
               for task, splits in row["results"].items()}
    score = suite_score(SuiteScoreInput.from_results(results), "lepiszcze")
    assert len(score.task_scores) == 13  # tagging datasets scored through seqeval_f1_macro
    for task, splits in row["results"].items():
        (published_value,) = splits["test"].values()
        assert score.task_scores[task] == published_value
    assert score.value == pytest.approx(sum(score.task_scores.values()) / 13)  # over datasets, not tasks


def test_lepiszcze_uses_f1_macro_not_other_metrics() -> None:
    results = {"lepiszcze/psc": {"test": {"f1_macro": 0.9, "accuracy": 0.5}},
               "lepiszcze/kpwr-ner": {"test": {"seqeval_f1_macro": 0.5, "seqeval_f1": 0.1}}}
    assert suite_score(SuiteScoreInput.from_results(results), "lepiszcze").value == pytest.approx(0.7)
    results["lepiszcze/psc"] = {"test": {"accuracy": 0.5}}
    with pytest.raises(BenchkitError, match="lepiszcze/psc.*needs metric f1_macro or seqeval_f1_macro"):
        suite_score(SuiteScoreInput.from_results(results), "lepiszcze")


# ---------------------------------------------------------------------------------------------------------------
# missing, partial and inconsistent suites


def test_missing_task_is_refused_naming_it() -> None:
    results = dict(ROWS["glue"]["bert-large"]["results"])
    del results["glue/rte"]
    del results["glue/cola"]
    with pytest.raises(BenchkitError, match=r"missing glue/cola \(no result\), glue/rte \(no result\)"):
        suite_score(suite_input(results), "glue")


def test_partial_score_is_labelled_partial() -> None:
    results = dict(ROWS["glue"]["bert-large"]["results"])
    results["glue/rte"] = None  # in the suite but not evaluated
    score = suite_score(suite_input(results), "glue", partial=True)
    assert score.partial and score.missing == ("glue/rte",)
    assert "PARTIAL: missing glue/rte" in score.label
    assert score.value == pytest.approx((80.5222 * 9 - 70.1) / 8, abs=1e-3)
    full = suite_score(suite_input(ROWS["glue"]["bert-large"]["results"]), "glue", partial=True)
    assert not full.partial and "PARTIAL" not in full.label


def test_mnli_needs_both_splits_for_the_glue_score() -> None:
    results = dict(ROWS["glue"]["bert-large"]["results"])
    results["glue/mnli"] = {"test_matched": {"accuracy": 86.7}}
    with pytest.raises(BenchkitError, match=r"glue/mnli \(needs 2 evaluation splits"):
        suite_score(suite_input(results), "glue")


def test_suite_flags_must_agree_with_a_published_rule() -> None:
    results = ROWS["glue"]["bert-large"]["results"]
    with pytest.raises(BenchkitError, match=r"\['glue/ax'\] as scored"):
        suite_score(SuiteScoreInput.from_results(results), "glue")  # AX not marked as a non-scored diagnostic
    with pytest.raises(BenchkitError, match=r"\['glue/wnli'\] as not scored"):
        suite_score(SuiteScoreInput.from_results(results, not_scored=("glue/ax", "glue/wnli")), "glue")
    with pytest.raises(BenchkitError, match="appears twice"):
        entry = TaskScoreInput("glue/cola", {"test": {"mcc": 1.0}})
        suite_score(SuiteScoreInput((entry, entry)), "mean")
    with pytest.raises(BenchkitError, match="did you mean 'glue'"):
        suite_score(suite_input(results), "gleu")


def test_mean_rule_follows_the_suite_card() -> None:
    entries = (
        TaskScoreInput("my/a", {"dev": {"accuracy": 0.8, "f1_macro": 0.6}}, score_metrics=("accuracy",)),
        TaskScoreInput("my/b", {"dev": {"pearson": 0.5, "spearman": 0.7}}),
        TaskScoreInput("my/diag", {"test": {"mcc": 0.0}}, scored=False),
    )
    score = suite_score(SuiteScoreInput(entries), "mean")
    assert score.value == pytest.approx((0.8 + 0.6) / 2) and score.excluded == ("my/diag",)
    assert set(SCORE_RULES.names()) >= {"glue", "glue_paper_average", "superglue", "klej", "lepiszcze", "mean"}


# ---------------------------------------------------------------------------------------------------------------
# seeds


def test_seed_stats_use_sample_std() -> None:
    values = [86.0, 84.5, 87.25, 85.0, 88.0]
    stats = seed_stats(values)
    assert stats.mean == pytest.approx(statistics.mean(values))
    assert stats.std == pytest.approx(statistics.stdev(values))  # ddof=1
    assert stats.std != pytest.approx(statistics.pstdev(values))
    assert stats.n == 5 and stats.values == tuple(values)
    assert math.isnan(seed_stats([0.5]).std)


def test_aggregate_seeds() -> None:
    runs = [{"test": {"accuracy": a, "f1": f}} for a, f in [(0.8, 0.7), (0.9, 0.6), (0.85, 0.65)]]
    agg = aggregate_seeds(runs)
    assert agg["test"]["accuracy"].mean == pytest.approx(0.85)
    assert agg["test"]["f1"].std == pytest.approx(statistics.stdev([0.7, 0.6, 0.65]))
    with pytest.raises(BenchkitError, match="unlike seed result 0"):
        aggregate_seeds([{"test": {"accuracy": 0.8}}, {"dev": {"accuracy": 0.8}}])


# ---------------------------------------------------------------------------------------------------------------
# bootstrap


def make_labels(seed: int, n: int, correct: float) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    refs = [str(x) for x in rng.choice(["entailment", "not_entailment"], size=n)]
    flip = {"entailment": "not_entailment", "not_entailment": "entailment"}
    return refs, [r if rng.random() < correct else flip[r] for r in refs]


accuracy = partial(compute_metric, "accuracy")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bootstrap_ci_of_accuracy(seed: int) -> None:
    refs, preds = make_labels(seed, 2000, 0.7)
    ci = bootstrap_ci(refs, preds, accuracy, resamples=500, seed=seed)
    p = float(np.mean(np.asarray(refs) == np.asarray(preds)))
    assert ci.point == pytest.approx(p)
    assert (ci.resamples, ci.level, ci.method, ci.seed, ci.unit) == (500, 0.95, "percentile", seed, "example")
    # independent check: binomial normal approximation of the half-width, 1.96 * sqrt(p(1-p)/n)
    half = 1.96 * math.sqrt(p * (1 - p) / len(refs))
    assert (ci.high - ci.low) / 2 == pytest.approx(half, rel=0.15)
    assert ci.low < p < ci.high
    # same draws as an independent loop over the documented RNG stream
    rng = np.random.default_rng(seed)
    r, q = np.asarray(refs), np.asarray(preds)
    stats = [np.mean(r[idx] == q[idx]) for idx in (rng.integers(0, 2000, size=2000) for _ in range(500))]
    assert (ci.low, ci.high) == pytest.approx(tuple(np.quantile(stats, [0.025, 0.975])))
    assert bootstrap_ci(refs, preds, accuracy, resamples=500, seed=seed) == ci  # deterministic


def test_bootstrap_basic_method_reflects_percentile() -> None:
    refs, preds = make_labels(3, 300, 0.6)
    f1 = partial(compute_metric, "f1", positive_label="entailment")
    pct = bootstrap_ci(refs, preds, f1, resamples=300, seed=3)
    basic = bootstrap_ci(refs, preds, f1, resamples=300, seed=3, method="basic")
    assert (basic.low, basic.high) == pytest.approx((2 * pct.point - pct.high, 2 * pct.point - pct.low))
    with pytest.raises(BenchkitError, match="did you mean 'percentile'"):
        bootstrap_ci(refs, preds, f1, method="percentil")
    with pytest.raises(BenchkitError, match="level must be in"):
        bootstrap_ci(refs, preds, f1, level=95)


def test_grouped_bootstrap_resamples_whole_questions() -> None:
    rng = np.random.default_rng(5)
    groups = [f"q{q}" for q in range(40) for _ in range(int(rng.integers(1, 5)))]
    refs = [str(x) for x in rng.choice(["False", "True"], size=len(groups))]
    preds = [r if rng.random() < 0.8 else ("True" if r == "False" else "False") for r in refs]

    def question_count(r: object, p: object, groups: object) -> float:
        return float(len(set(groups)))  # a group drawn twice must count twice

    counted = bootstrap_ci(refs, preds, question_count, resamples=50, groups=groups)
    assert counted.low == counted.high == counted.point == 40 and counted.unit == "group"

    em = partial(compute_metric, "multirc_em")
    ci = bootstrap_ci(refs, preds, em, resamples=300, groups=groups, seed=1)
    assert ci.point == pytest.approx(compute_metric("multirc_em", refs, preds, groups=groups))
    assert 0 <= ci.low <= ci.point <= ci.high <= 1


def test_paired_bootstrap() -> None:
    refs, good = make_labels(11, 500, 0.9)
    _, bad = make_labels(11, 500, 0.5)
    result = paired_bootstrap(refs, good, bad, accuracy, resamples=400, seed=2)
    assert result.difference == pytest.approx(result.score_a - result.score_b)
    assert result.differs and result.low > 0 and result.p_value < 0.01
    same = paired_bootstrap(refs, good, list(good), accuracy, resamples=200)
    assert same.difference == 0 and same.p_value == 1.0 and not same.differs
    # two near-identical systems: differences of one example are not significant
    nearly = list(good)
    nearly[0] = "entailment" if nearly[0] == "not_entailment" else "not_entailment"
    close = paired_bootstrap(refs, good, nearly, accuracy, resamples=400, seed=2)
    assert not close.differs and close.p_value > 0.05
    with pytest.raises(BenchkitError, match="system b has 499"):
        paired_bootstrap(refs, good, bad[:-1], accuracy)
