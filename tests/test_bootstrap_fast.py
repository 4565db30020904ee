"""benchkit.scoring.bootstrap: CIs from additive statistics equal the per-resample path on the same draws.

Every comparison runs the slow path (the metric recomputed from the drawn examples, validated, as benchkit did before
the statistics existed) on exactly the draws of the fast one, over several metrics, cards and seeds; the release
engines are checked against the per-resample loops they replaced, written out here.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

from benchkit.scoring.bootstrap import (
    Draws,
    DropRun,
    SplitScorer,
    Units,
    bootstrap_ci,
    card_units,
    percentile_interval,
    slow_values,
    split_ci,
    two_level_drops,
    two_level_metrics,
    two_level_suite,
    unpaired_bootstrap,
    unpaired_split_ci,
)
from benchkit.cards import catalog
from benchkit.metrics import METRICS
from benchkit.scoring.scores import rule_score
from benchkit.scoring.split import evaluate_split
from benchkit.scoring.task import compute_metrics, resampling_units, task_split_score

TYPES = ("PER", "LOC", "ORG", "MISC")


def tag_lists(rng: np.random.Generator, n: int) -> tuple[list[list[str]], list[list[str]]]:
    """IOB2 gold sentences and noisy predictions (missed, retyped and cut chunks; a stray I- for conll mode)."""
    gold, pred = [], []
    for _ in range(n):
        length = int(rng.integers(3, 14))
        tags = ["O"] * length
        i = int(rng.integers(0, 2))
        while i < length - 1:
            if rng.random() < 0.35:
                kind, size = str(rng.choice(TYPES)), int(rng.integers(1, 3))
                tags[i:i + size] = [f"B-{kind}"] + [f"I-{kind}"] * (size - 1)
                i += size
            i += 1
        guess = list(tags[:length])
        for j, tag in enumerate(guess):
            roll = rng.random()
            if tag != "O" and roll < 0.1:
                guess[j] = "O"
            elif tag.startswith("B-") and roll < 0.2:
                guess[j] = "B-" + str(rng.choice(TYPES))
            elif tag == "O" and roll < 0.03:
                guess[j] = "I-" + str(rng.choice(TYPES))
        gold.append(tags[:length])
        pred.append(guess)
    return gold, pred


def labels(rng: np.random.Generator, names: list[str], n: int, right: float) -> tuple[list[str], list[str]]:
    refs = [str(x) for x in rng.choice(names, size=n)]
    return refs, [r if rng.random() < right else str(rng.choice(names)) for r in refs]


def example_data(task: str, seed: int) -> tuple[Any, list[Any], list[Any], list[Any] | None]:
    """A card and real-shaped gold, predictions and groups for it."""
    card = catalog.load_task(task)
    rng = np.random.default_rng(seed)
    groups = None
    if card.type == "regression" and task == "klej/ar":
        refs = [float(x) for x in rng.integers(1, 6, size=120)]
        preds = [float(np.clip(r + rng.normal(0, 1), 1, 5)) for r in refs]
    elif card.type == "regression":
        refs = [float(x) for x in rng.uniform(0, 5, size=120)]
        preds = [r + float(rng.normal(0, 1.2)) for r in refs]
    elif card.type == "token_classification":
        refs, preds = tag_lists(rng, 150)
    elif card.type == "candidate_choice":
        refs = [["Obama", "Barack Obama"] if i % 3 else ["the U.S."] for i in range(90)]
        preds = [str(rng.choice(["Obama", "Barack Obama", "U.S.", "Clinton", "Obama."])) for _ in range(90)]
    elif card.fields.group is not None:
        groups = [f"{q // 7}-{q}" for q in range(40) for _ in range(int(rng.integers(1, 6)))]
        refs, preds = labels(rng, list(card.labels.names), len(groups), 0.75)
    else:
        refs, preds = labels(rng, list(card.labels.names), 160, 0.7)
    return card, refs, preds, groups


CARDS = ["glue/cola", "glue/mrpc", "superglue/cb", "glue/stsb", "klej/ar", "conll2003/eng-iob2", "superglue/multirc",
         "superglue/axg", "superglue/record"]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("task", CARDS)
def test_every_metric_equals_the_slow_path_on_the_same_draws(task: str, seed: int) -> None:
    card, refs, preds, groups = example_data(task, seed)
    units = card_units(card, len(refs), groups)
    draws = Draws(units, 30)
    rng = np.random.default_rng(seed)
    for row in range(30):
        draws.draw(row, rng)
    fast = SplitScorer(card, refs, preds, units, groups).values(draws)
    slow = slow_values(card, refs, preds, units, draws, groups)
    assert list(fast) == list(slow) == [m.key for m in card.metrics]
    for key in fast:
        np.testing.assert_allclose(fast[key], slow[key], rtol=0, atol=1e-12, err_msg=key)
    assert len(set(np.round(slow[card.metrics[0].key], 12))) > 3  # the resamples differ: a real comparison


@pytest.mark.parametrize("seed", [0, 3])
@pytest.mark.parametrize(("name", "options"), [
    ("f1_macro", {}), ("f1_macro", {"labels": ["a", "b", "c", "d"]}), ("f1_weighted", {}), ("f1_micro", {}),
    ("mcc", {}), ("exact_match", {"normalize": "squad"}),
])
def test_label_metrics_on_resamples_missing_classes(name: str, options: dict[str, Any], seed: int) -> None:
    # a rare class is absent from many resamples: macro F1 without labels averages only the classes present
    rng = np.random.default_rng(seed)
    refs = [str(x) for x in rng.choice(["a", "b", "c"], p=[0.6, 0.37, 0.03], size=60)]
    preds = [r if rng.random() < 0.6 else str(rng.choice(["a", "b", "c"])) for r in refs]
    metric = METRICS.get(name)
    stats = metric.additive(refs, preds, **options)
    units = Units(len(refs))
    for _ in range(40):
        idx = units.draw(rng)
        counts = np.bincount(idx, minlength=len(refs)).astype(float)
        fast = stats.value((counts @ stats.per_example)[None])[0]
        assert fast == pytest.approx(metric.compute([refs[i] for i in idx], [preds[i] for i in idx], **options),
                                     abs=1e-12)


@pytest.mark.parametrize(("name", "options"), [
    ("seqeval_f1", {}), ("seqeval_f1_macro", {}), ("seqeval_precision_weighted", {}), ("seqeval_recall", {}),
    ("seqeval_f1", {"mode": "strict", "scheme": "IOB2"}), ("seqeval_f1_macro", {"mode": "strict", "scheme": "IOB2"}),
    ("seqeval_f1_type", {"entity_type": "MISC"}), ("seqeval_f1_type", {"entity_type": "ORG", "mode": "strict",
                                                                       "scheme": "IOB2"}),
    ("seqeval_f1_type", {"entity_type": "DATE"}),
])
def test_span_metrics_on_resamples(name: str, options: dict[str, Any]) -> None:
    rng = np.random.default_rng(7)
    refs, preds = tag_lists(rng, 25)  # small: some resamples lack a type, or every entity
    metric = METRICS.get(name)
    stats = metric.additive(refs, preds, **options)
    units = Units(len(refs))
    for _ in range(40):
        idx = units.draw(rng)
        counts = np.bincount(idx, minlength=len(refs)).astype(float)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # DATE never occurs: undefined, 0.0 with a warning
            expected = metric.compute([refs[i] for i in idx], [preds[i] for i in idx], **options)
        assert stats.value((counts @ stats.per_example)[None])[0] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_spearman_with_ties_on_resamples(seed: int) -> None:
    # STS-B-like gold in steps of 0.2 and predictions in steps of 0.5: many ties on both sides; tiny resamples of 5
    # are sometimes constant on one side (0.0, with the metric's warning)
    rng = np.random.default_rng(seed)
    metric = METRICS.get("spearman")
    for n in (5, 80):
        refs = [float(x) for x in np.round(rng.uniform(0, 5, size=n) * 5) / 5]
        preds = [float(x) for x in np.round((np.asarray(refs) + rng.normal(0, 1, size=n)) * 2) / 2]
        value = metric.weighted(refs, preds)
        rows = [rng.integers(0, n, size=n) for _ in range(40)]
        fast = value(np.stack([np.bincount(idx, minlength=n) for idx in rows]).astype(float))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            slow = [metric.compute([refs[i] for i in idx], [preds[i] for i in idx]) for idx in rows]
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)


def test_pearson_near_constant_resamples_fall_back_to_the_metric() -> None:
    # one prediction differs: most resamples of 6 examples are constant on that side (pearson -> 0.0, warned)
    card = catalog.load_task("glue/stsb")
    refs, preds = [0.5, 1.0, 2.0, 3.0, 4.0, 4.5], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0 + 1e-9]
    units = Units(6)
    draws = Draws(units, 60)
    rng = np.random.default_rng(0)
    for row in range(60):
        draws.draw(row, rng)
    fast = SplitScorer(card, refs, preds, units).values(draws)  # the constant resamples recomputed: warned
    with pytest.warns(UserWarning, match="undefined"):
        slow = slow_values(card, refs, preds, units, draws)
    np.testing.assert_allclose(fast["pearson"], slow["pearson"], rtol=0, atol=1e-9)
    assert (fast["pearson"] == 0).any() and (fast["pearson"] != 0).any()


@pytest.mark.parametrize("seed", [0, 5])
@pytest.mark.parametrize("task", ["glue/mrpc", "conll2003/eng-iob2", "superglue/multirc", "superglue/axg"])
def test_split_ci_is_todays_bootstrap_ci(task: str, seed: int) -> None:
    """The task-score CI of ``benchkit score``/runs: what ``bootstrap_ci`` over the card's task score gave."""
    card, refs, preds, groups = example_data(task, seed)
    units = resampling_units(card, len(refs), groups)
    grouped = groups is not None

    def score(r: Any, p: Any, groups: Any = None) -> float:
        return task_split_score(card, list(r), list(p), list(groups) if grouped and groups is not None else None)

    before = bootstrap_ci(refs, preds, score, resamples=30, seed=seed, groups=units)
    after = evaluate_split(card, "dev", refs, preds, resamples=30, seed=seed, groups=groups).ci
    assert after is not None
    assert (after["low"], after["high"]) == pytest.approx((before.low, before.high), abs=1e-12)
    assert (after["unit"], after["resamples"], after["seed"]) == (before.unit, 30, seed)
    direct = split_ci(card, refs, preds, point=before.point, resamples=30, seed=seed, groups=groups)
    assert direct.point == pytest.approx(before.point) and direct.low < direct.high


@pytest.mark.parametrize("task", ["glue/mrpc", "glue/stsb"])
def test_unpaired_split_ci_is_todays_unpaired_bootstrap(task: str) -> None:
    """The drop CI of an evaluation-only record (AdvGLUE): source split vs the adversarial split, drawn apart."""
    card, refs, preds, _ = example_data(task, 4)
    _, other_refs, other_preds, _ = example_data(task, 5)
    before = unpaired_bootstrap(refs, preds, other_refs[:70], other_preds[:70],
                                lambda r, p: task_split_score(card, list(r), list(p)), resamples=50, seed=3)
    after = unpaired_split_ci(card, refs, preds, other_refs[:70], other_preds[:70], resamples=50, seed=3)
    assert (after.low, after.high, after.p_value) == pytest.approx((before.low, before.high, before.p_value), abs=1e-12)
    assert (after.difference, after.unit) == (pytest.approx(before.difference), before.unit)


# ---------------------------------------------------------------------------------------------------------------
# the release engines against the loops they replaced


def _old_suite(suite: Any, cards: dict[str, Any], gold: dict[str, Any], runs: dict[str, Any],
               resamples: int, seed: int) -> tuple[Any, dict[str, Any]]:
    """The per-resample two-level bootstrap of release.scores.bootstrap_suite before benchkit.scoring.bootstrap."""
    rng = np.random.default_rng(seed)
    samplers = {t: {s: Units(len(gold[t][s]), resampling_units(cards[t], len(gold[t][s]), None))
                    for s in sorted({s for run in rs for s in run})} for t, rs in runs.items()}
    suite_values: list[float] = []
    task_values: dict[str, list[float]] = {}
    for _ in range(resamples):
        results = {}
        for task, rs in runs.items():
            drawn = rng.integers(0, len(rs), size=len(rs))
            draws = {s: sampler.expand(sampler.draw(rng))[0] for s, sampler in samplers[task].items()}
            sums: dict[str, dict[str, list[float]]] = {}
            for i in drawn.tolist():
                for s, idx in draws.items():
                    values = compute_metrics(cards[task], [gold[task][s][j] for j in idx], [rs[i][s][j] for j in idx])
                    for m, v in values.items():
                        sums.setdefault(s, {}).setdefault(m, []).append(v)
            results[task] = {s: {m: float(np.mean(v)) for m, v in ms.items()} for s, ms in sums.items()}
        scored = rule_score(suite, results)
        suite_values.append(scored.value)
        for column, value in scored.task_scores.items():
            task_values.setdefault(column, []).append(value)
    return percentile_interval(suite_values, 0.9), {c: percentile_interval(v, 0.9) for c, v in task_values.items()}


def _suite_data(seed: int) -> tuple[Any, dict[str, Any], dict[str, Any], dict[str, Any]]:
    suite = catalog.load_suite("glue-mini")
    cards = {card.id: card for card in suite.tasks}
    gold, runs = {}, {}
    for k, (task, card) in enumerate(cards.items()):
        _, refs, _, _ = example_data({"glue-mini/stsb": "glue/stsb"}.get(task, "glue/cola"), seed + k)
        if card.labels is not None:
            refs, _ = labels(np.random.default_rng(seed + k), list(card.labels.names), 80, 1.0)
        rng = np.random.default_rng(seed + 10 + k)
        gold[task] = {"dev": refs}
        runs[task] = []
        for _ in range(3):  # three seeds of one model
            if card.labels is None:
                preds = [r + float(rng.normal(0, 1.0)) for r in refs]
            else:
                preds = [r if rng.random() < 0.75 else str(rng.choice(card.labels.names)) for r in refs]
            runs[task].append({"dev": preds})
    return suite, cards, gold, runs


@pytest.mark.parametrize("seed", [0, 4])
def test_two_level_suite_is_the_old_release_loop(seed: int) -> None:
    suite, cards, gold, runs = _suite_data(seed)
    before_suite, before_tasks = _old_suite(suite, cards, gold, runs, 25, seed)
    after_suite, after_tasks = two_level_suite(suite, cards, gold, runs, {}, 25, 0.9, seed)
    assert after_suite == pytest.approx(before_suite, abs=1e-12)
    assert after_tasks.keys() == before_tasks.keys() and len(after_tasks) == 4
    for column, interval in before_tasks.items():
        assert after_tasks[column] == pytest.approx(interval, abs=1e-12)


def test_two_level_metrics_is_the_old_diagnostic_loop() -> None:
    card, refs, _, _ = example_data("superglue/axg", 2)
    rng = np.random.default_rng(9)
    runs = [[r if rng.random() < 0.7 else ("entailment" if r == "not_entailment" else "not_entailment")
             for r in refs] for _ in range(3)]
    after = two_level_metrics(card, refs, runs, ["gender_parity", "accuracy"], 40, 0.95, 3)
    rng = np.random.default_rng(3)
    units = Units(len(refs), resampling_units(card, len(refs), None))
    series: dict[str, list[float]] = {"gender_parity": [], "accuracy": []}
    for _ in range(40):
        drawn = rng.integers(0, 3, size=3)
        index = units.expand(units.draw(rng))[0]
        values = [compute_metrics(card, [refs[j] for j in index], [runs[i][j] for j in index]) for i in drawn]
        for m, found in series.items():
            found.append(float(np.mean([v[m] for v in values])))
    for m, values in series.items():
        assert after[m] == pytest.approx(percentile_interval(values, 0.95), abs=1e-12)


def test_two_level_drops_is_the_old_drops_loop() -> None:
    suite, cards, gold, runs = _suite_data(1)
    # each run: its own split (80 examples) and its source split (50 other examples, scored with the same card)
    tasks = {task: [DropRun({"dev": (gold[task]["dev"], run["dev"])},
                            {"dev": (gold[task]["dev"][30:80], run["dev"][10:60])}) for run in rs]
             for task, rs in runs.items()}
    after_suite, after_tasks = two_level_drops(suite, cards, tasks, 20, 0.95, 6)
    from benchkit.release.drops import _mean_metrics

    rng = np.random.default_rng(6)
    suite_values: list[float] = []
    for _ in range(20):
        results, sources = {}, {}
        for task, rs in tasks.items():
            drawn = rng.integers(0, len(rs), size=len(rs)).tolist()
            picks = {}
            for i in sorted(set(drawn)):
                (g, p), (sg, sp) = rs[i].ours["dev"], rs[i].theirs["dev"]
                idx, jdx = rng.integers(0, len(g), size=len(g)), rng.integers(0, len(sg), size=len(sg))
                picks[i] = ({"dev": compute_metrics(cards[task], [g[j] for j in idx], [p[j] for j in idx])},
                            {"dev": compute_metrics(cards[task], [sg[j] for j in jdx], [sp[j] for j in jdx])})
            results[task] = _mean_metrics([picks[i][0] for i in drawn])
            sources[task] = _mean_metrics([picks[i][1] for i in drawn])
        suite_values.append(rule_score(suite, sources).value - rule_score(suite, results).value)
    assert after_suite == pytest.approx(percentile_interval(suite_values, 0.95), abs=1e-12)
    assert len(after_tasks) == 4
