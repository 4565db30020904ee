"""benchkit.metrics against independent computations (sklearn, scipy, seqeval, re-implementations written here)."""

from __future__ import annotations

import math
import re
import string
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import scipy.stats
import seqeval.metrics
import seqeval.scheme
import sklearn.metrics as skm

from benchkit.errors import BenchkitError
from benchkit.metrics import METRICS, Metric, UndefinedMetricWarning, compute_metric

SEEDS = [0, 1, 2, 3, 4]
MNLI = ["entailment", "neutral", "contradiction"]


def random_labels(rng: np.random.Generator, n: int, labels: list[str], p: list[float] | None = None) -> list[str]:
    return [str(x) for x in rng.choice(labels, size=n, p=p)]


def noisy_copy(rng: np.random.Generator, refs: list[str], labels: list[str], flip: float) -> list[str]:
    return [str(rng.choice(labels)) if rng.random() < flip else r for r in refs]


# ---------------------------------------------------------------------------------------------------------------
# registry and import cost

REQUIRED = [
    "accuracy", "f1", "f1_macro", "f1_micro", "f1_weighted", "mcc", "pearson", "spearman", "seqeval_f1",
    "seqeval_precision", "seqeval_recall", "seqeval_f1_macro", "multirc_f1a", "multirc_em", "record_f1", "record_em",
    "exact_match", "gender_parity", "klej_ar_score",
]


def test_required_metrics_are_registered() -> None:
    for name in REQUIRED:
        metric = METRICS.get(name)
        assert isinstance(metric, Metric) and metric.name == name
        assert set(metric.required_options) <= set(metric.options)


def test_unknown_metric_suggests_a_name() -> None:
    with pytest.raises(BenchkitError, match="did you mean 'accuracy'"):
        compute_metric("acuracy", ["a"], ["a"])


def test_import_does_not_load_heavy_libraries() -> None:
    code = (
        "import sys, benchkit.metrics, benchkit.scoring.scores\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'seqeval', 'torch'}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# ---------------------------------------------------------------------------------------------------------------
# classification


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracy_f1_family_and_mcc_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    refs = random_labels(rng, n, MNLI, [0.5, 0.3, 0.2])
    preds = noisy_copy(rng, refs, MNLI, flip=0.4)
    assert compute_metric("accuracy", refs, preds, labels=MNLI) == pytest.approx(skm.accuracy_score(refs, preds))
    for average in ("macro", "micro", "weighted"):
        expected = skm.f1_score(refs, preds, average=average)
        assert compute_metric(f"f1_{average}", refs, preds) == pytest.approx(expected)
    assert compute_metric("mcc", refs, preds) == pytest.approx(skm.matthews_corrcoef(refs, preds))
    binary_refs = ["equivalent" if r == "entailment" else "not_equivalent" for r in refs]
    binary_preds = ["equivalent" if p == "entailment" else "not_equivalent" for p in preds]
    expected = skm.f1_score(binary_refs, binary_preds, pos_label="equivalent")
    assert compute_metric("f1", binary_refs, binary_preds, positive_label="equivalent") == pytest.approx(expected)
    assert compute_metric("mcc", binary_refs, binary_preds) == pytest.approx(
        skm.matthews_corrcoef(binary_refs, binary_preds)
    )


def per_class_f1(refs: list[str], preds: list[str], label: str) -> float:
    tp = sum(r == label and p == label for r, p in zip(refs, preds))
    fp = sum(r != label and p == label for r, p in zip(refs, preds))
    fn = sum(r == label and p != label for r, p in zip(refs, preds))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


@pytest.mark.parametrize("seed", SEEDS)
def test_f1_macro_over_full_label_set_matches_jiant_style_mean(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cb = ["entailment", "contradiction", "neutral"]
    refs = random_labels(rng, 56, cb, [0.45, 0.45, 0.10])
    preds = noisy_copy(rng, refs, cb, flip=0.3)
    expected = np.mean([per_class_f1(refs, preds, c) for c in cb])
    assert compute_metric("f1_macro", refs, preds, labels=cb) == pytest.approx(expected)


def test_f1_macro_absent_class_counts_as_zero_with_labels() -> None:
    # CB: 'neutral' is neither in the references nor predicted; SuperGLUE/jiant still average over all 3 classes.
    cb = ["entailment", "contradiction", "neutral"]
    refs = ["entailment", "entailment", "contradiction", "contradiction"]
    preds = ["entailment", "contradiction", "contradiction", "contradiction"]
    f1_e, f1_c = 2 / 3, 4 / 5  # entailment: tp 1, fn 1; contradiction: tp 2, fp 1
    assert compute_metric("f1_macro", refs, preds, labels=cb) == pytest.approx((f1_e + f1_c + 0.0) / 3)
    # without the label set, only present labels are averaged (HF evaluate's behaviour) -- a different number
    assert compute_metric("f1_macro", refs, preds) == pytest.approx((f1_e + f1_c) / 2)


def gorodkin_rk(refs: list[str], preds: list[str]) -> float:
    """R_K from the confusion matrix (Gorodkin 2004), written independently of sklearn."""
    labels = sorted(set(refs) | set(preds))
    index = {label: i for i, label in enumerate(labels)}
    c = np.zeros((len(labels), len(labels)))
    for r, p in zip(refs, preds):
        c[index[r], index[p]] += 1
    s, correct = c.sum(), np.trace(c)
    t, p = c.sum(axis=1), c.sum(axis=0)
    denominator = math.sqrt((s * s - p @ p) * (s * s - t @ t))
    return 0.0 if denominator == 0 else (correct * s - t @ p) / denominator


@pytest.mark.parametrize("seed", SEEDS)
def test_mcc_k_class_is_gorodkin_rk(seed: int) -> None:
    rng = np.random.default_rng(seed)
    refs = random_labels(rng, 200, MNLI)
    preds = noisy_copy(rng, refs, MNLI, flip=0.5)
    assert compute_metric("mcc", refs, preds, labels=MNLI) == pytest.approx(gorodkin_rk(refs, preds))


def test_mcc_constant_predictions_is_zero() -> None:
    refs = ["acceptable", "unacceptable", "acceptable", "acceptable"]
    assert compute_metric("mcc", refs, ["acceptable"] * 4) == 0.0
    assert compute_metric("mcc", refs, ["contradiction"] * 4) == 0.0


def test_f1_needs_a_positive_label_that_exists() -> None:
    refs, preds = ["0", "1", "1"], ["1", "1", "0"]
    with pytest.raises(BenchkitError, match="needs option.*positive_label"):
        compute_metric("f1", refs, preds)
    with pytest.raises(BenchkitError, match="positive_label 'True'"):
        compute_metric("f1", ["False", "true"], ["true", "true"], positive_label="True")
    with pytest.raises(BenchkitError, match="positive_label"):
        compute_metric("f1", refs, preds, positive_label="2", labels=["0", "1"])
    assert compute_metric("f1", refs, preds, positive_label="1") == pytest.approx(0.5)


def test_label_validation() -> None:
    with pytest.raises(BenchkitError, match="not one of the labels.*did you mean 'neutral'"):
        compute_metric("accuracy", ["neutral"], ["Neutral"], labels=MNLI)
    with pytest.raises(BenchkitError, match="label strings"):
        compute_metric("accuracy", [0, 1], [0, 1])
    with pytest.raises(BenchkitError, match="2 references but 1 predictions"):
        compute_metric("accuracy", ["a", "b"], ["a"])
    with pytest.raises(BenchkitError, match="at least one example"):
        compute_metric("accuracy", [], [])
    with pytest.raises(BenchkitError, match="has no option 'label'.*did you mean 'labels'"):
        compute_metric("accuracy", ["a"], ["a"], label=["a"])
    with pytest.raises(BenchkitError, match="no duplicates"):
        compute_metric("accuracy", ["a"], ["a"], labels=["a", "a"])


# ---------------------------------------------------------------------------------------------------------------
# regression


@pytest.mark.parametrize("seed", SEEDS)
def test_correlations_match_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    refs = rng.uniform(0, 5, size=150)
    preds = refs + rng.normal(0, 1.5, size=150)
    refs[:10] = 2.5  # ties, so Spearman's rank averaging matters
    assert compute_metric("pearson", list(refs), list(preds)) == pytest.approx(scipy.stats.pearsonr(preds, refs)[0])
    assert compute_metric("spearman", list(refs), list(preds)) == pytest.approx(
        scipy.stats.spearmanr(preds, refs)[0]
    )


@pytest.mark.parametrize("name", ["pearson", "spearman"])
def test_correlation_constant_input_is_zero_with_warning(name: str) -> None:
    with pytest.warns(UndefinedMetricWarning, match="constant"):
        assert compute_metric(name, [1.0, 2.0, 3.5], [2.0, 2.0, 2.0]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="constant"):
        assert compute_metric(name, [3.0, 3.0, 3.0], [1.0, 2.0, 2.5]) == 0.0
    with pytest.warns(UndefinedMetricWarning, match="fewer than 2"):
        assert compute_metric(name, [3.0], [1.0]) == 0.0


def test_scores_must_be_finite_numbers() -> None:
    with pytest.raises(BenchkitError, match="finite number"):
        compute_metric("pearson", [1.0, 2.0], [1.0, float("nan")])
    with pytest.raises(BenchkitError, match="finite number"):
        compute_metric("pearson", [1.0, 2.0], ["1.0", "2.0"])
    assert compute_metric("pearson", np.array([1, 2, 3]), np.array([1.0, 2.0, 4.0])) > 0.9


def ar_reference(refs: np.ndarray, preds: np.ndarray) -> float:
    """KLEJ baselines form: 1 - wMAE(raw ratings) / 4, wMAE = class-balanced MAE (sklearn sample weights)."""
    classes, counts = np.unique(refs, return_counts=True)
    weights = 1.0 / counts[np.searchsorted(classes, refs)]
    return 1.0 - skm.mean_absolute_error(refs, preds, sample_weight=weights) / 4.0


@pytest.mark.parametrize("seed", SEEDS)
def test_klej_ar_score_matches_class_balanced_mae(seed: int) -> None:
    rng = np.random.default_rng(seed)
    refs = rng.choice([1.0, 2.0, 3.0, 4.0, 5.0], size=300, p=[0.1, 0.1, 0.15, 0.25, 0.4])
    preds = refs + rng.normal(0, 1.0, size=300)
    assert compute_metric("klej_ar_score", list(refs), list(preds)) == pytest.approx(ar_reference(refs, preds))


def test_klej_ar_score_fixed_and_unclipped() -> None:
    # class 5: errors 0 and 1 (rescaled 0, .25) -> .125; class 1: error 2 (.5) -> .5; wMAE = .3125
    assert compute_metric("klej_ar_score", [5.0, 5.0, 1.0], [5.0, 4.0, 3.0]) == pytest.approx(1 - 0.3125)
    # no clipping: a prediction of 9 for a true 5 costs (9-5)/4 = 1.0
    assert compute_metric("klej_ar_score", [5.0], [9.0]) == pytest.approx(0.0)


# ---------------------------------------------------------------------------------------------------------------
# tagging


def chunks(sentences: list[list[str]]) -> set[tuple[int, int, int, str]]:
    """conlleval-style chunks for B/I tags, written independently: B- always starts a chunk; I- starts one after O
    or after another type (this is what makes IOB1 data parse correctly)."""
    found = set()
    for s, tags in enumerate(sentences):
        current: list | None = None
        for i, tag in enumerate([*tags, "O"]):
            prefix, kind = (tag, "") if tag == "O" else tag.split("-", 1)
            if current and (prefix in ("O", "B") or kind != current[2]):
                found.add((s, current[0], i, current[2]))
                current = None
            if prefix != "O" and current is None:
                current = [i, i, kind]
    return found


def chunk_f1(refs: list[list[str]], preds: list[list[str]]) -> float:
    gold, guess = chunks(refs), chunks(preds)
    return 0.0 if not gold and not guess else 2 * len(gold & guess) / (len(gold) + len(guess))


def random_iob2(rng: np.random.Generator, n: int) -> list[list[str]]:
    out = []
    for _ in range(n):
        tags, prev = [], "O"
        for _ in range(int(rng.integers(1, 15))):
            r = rng.random()
            if r < 0.55:
                tag = "O"
            elif r < 0.8 or prev == "O":
                tag = f"B-{rng.choice(['PER', 'LOC', 'ORG'])}"
            else:
                tag = "I-" + prev[2:]
            tags.append(tag)
            prev = tag
        out.append(tags)
    return out


def perturb(rng: np.random.Generator, sentences: list[list[str]]) -> list[list[str]]:
    choices = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]
    return [[str(rng.choice(choices)) if rng.random() < 0.15 else t for t in s] for s in sentences]


@pytest.mark.parametrize("seed", SEEDS)
def test_seqeval_metrics_match_seqeval_and_conlleval(seed: int) -> None:
    rng = np.random.default_rng(seed)
    refs = random_iob2(rng, 60)
    preds = perturb(rng, refs)  # has ill-formed I- starts: conll and strict modes differ
    assert compute_metric("seqeval_f1", refs, preds) == pytest.approx(chunk_f1(refs, preds))
    for average, suffix in (("micro", ""), ("macro", "_macro"), ("weighted", "_weighted")):
        for score in ("f1", "precision", "recall"):
            fn = getattr(seqeval.metrics, f"{score}_score")
            ours = compute_metric(f"seqeval_{score}{suffix}", refs, preds)
            assert ours == pytest.approx(fn(refs, preds, average=average))
            strict = compute_metric(f"seqeval_{score}{suffix}", refs, preds, mode="strict", scheme="IOB2")
            assert strict == pytest.approx(fn(refs, preds, average=average, mode="strict", scheme=seqeval.scheme.IOB2))
    assert compute_metric("seqeval_f1", refs, preds, mode="strict", scheme="IOB2") != compute_metric(
        "seqeval_f1", refs, preds
    )


def iob1_to_iob2(sentences: list[list[str]]) -> list[list[str]]:
    out = []
    for tags in sentences:
        converted, prev = [], "O"
        for tag in tags:
            if tag.startswith("I-") and (prev == "O" or prev[2:] != tag[2:]):
                tag = "B-" + tag[2:]
            converted.append(tag)
            prev = tag
        out.append(converted)
    return out


def test_iob1_inputs_are_chunked_as_iob1() -> None:
    # CoNLL-2003 original: I- opens a chunk; B- only separates two adjacent chunks of the same type.
    refs = [["I-PER", "I-PER", "B-PER", "O", "I-LOC"], ["O", "I-ORG", "I-ORG"]]
    preds = [["I-PER", "I-PER", "I-PER", "O", "I-LOC"], ["O", "I-ORG", "O"]]
    assert chunks(refs) == {(0, 0, 2, "PER"), (0, 2, 3, "PER"), (0, 4, 5, "LOC"), (1, 1, 3, "ORG")}
    expected = seqeval.metrics.f1_score(iob1_to_iob2(refs), iob1_to_iob2(preds), mode="strict", scheme=seqeval.scheme.IOB2)
    assert expected == pytest.approx(2 * 1 / (4 + 3))  # only LOC matches
    for mode in ("conll", "strict"):
        assert compute_metric("seqeval_f1", refs, preds, mode=mode, scheme="IOB1") == pytest.approx(expected)
    # Declaring the data IOB2 in strict mode drops every chunk that starts with I-: a different (wrong) number.
    assert compute_metric("seqeval_f1", refs, preds, mode="strict", scheme="IOB2") != pytest.approx(expected)


def test_bilou_and_iobes_schemes() -> None:
    refs = [["B-PER", "I-PER", "L-PER", "O", "U-LOC"]]
    preds = [["B-PER", "L-PER", "O", "O", "U-LOC"]]
    for mode in ("conll", "strict"):
        assert compute_metric("seqeval_f1", refs, preds, mode=mode, scheme="BILOU") == pytest.approx(0.5)
    # adjacent unit chunks of one type are two entities; read as one chunk if U-/L- were not understood
    two_units, one_chunk = [["U-LOC", "U-LOC", "O"]], [["B-LOC", "L-LOC", "O"]]
    for mode in ("conll", "strict"):
        assert compute_metric("seqeval_f1", two_units, one_chunk, mode=mode, scheme="BILOU") == 0.0
        assert compute_metric("seqeval_f1", two_units, two_units, mode=mode, scheme="BILOU") == 1.0
    iobes = [[t.replace("L-", "E-").replace("U-", "S-") for t in s] for s in refs]
    iobes_preds = [[t.replace("L-", "E-").replace("U-", "S-") for t in s] for s in preds]
    assert compute_metric("seqeval_f1", iobes, iobes_preds, mode="strict", scheme="BIOES") == pytest.approx(
        seqeval.metrics.f1_score(iobes, iobes_preds, mode="strict", scheme=seqeval.scheme.IOBES)
    )


@pytest.mark.parametrize("name", ["seqeval_f1", "seqeval_f1_macro", "seqeval_f1_weighted", "seqeval_recall_macro"])
@pytest.mark.parametrize("options", [{}, {"mode": "strict", "scheme": "IOB2"}])
def test_empty_span_sets_do_not_crash(name: str, options: dict) -> None:
    with pytest.warns(UndefinedMetricWarning, match="no entities"):
        assert compute_metric(name, [["O", "O"], ["O"]], [["O", "O"], ["O"]], **options) == 0.0
    # entities on one side only: a well-defined 0, no warning needed
    assert compute_metric(name, [["O", "O"]], [["B-PER", "O"]], **options) == 0.0
    assert compute_metric(name, [["B-PER", "O"]], [["O", "O"]], **options) == 0.0


def test_tag_validation() -> None:
    with pytest.raises(BenchkitError, match="2 reference tags but 1 predicted"):
        compute_metric("seqeval_f1", [["O", "O"]], [["O"]])
    with pytest.raises(BenchkitError, match="not a IOB2 tag"):
        compute_metric("seqeval_f1", [["E-PER"]], [["O"]], scheme="IOB2")
    with pytest.raises(BenchkitError, match="strict mode needs a scheme"):
        compute_metric("seqeval_f1", [["B-PER"]], [["O"]], mode="strict")
    with pytest.raises(BenchkitError, match="unknown tagging scheme"):
        compute_metric("seqeval_f1", [["B-PER"]], [["O"]], scheme="IOB3")
    with pytest.raises(BenchkitError, match="mode must be one of"):
        compute_metric("seqeval_f1", [["B-PER"]], [["O"]], mode="lenient")


# ---------------------------------------------------------------------------------------------------------------
# reading comprehension


def official_normalize(s: str) -> str:
    """ReCoRD v1.0 evaluation script's normalize_answer, re-implemented here."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def official_f1(prediction: str, gold: str) -> float:
    p, g = official_normalize(prediction).split(), official_normalize(gold).split()
    common = Counter(p) & Counter(g)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(p), same / len(g)
    return 2 * precision * recall / (precision + recall)


def official_record(golds: list[list[str]], preds: list[str | None]) -> tuple[float, float]:
    f1 = em = 0.0
    for answers, pred in zip(golds, preds):
        if pred is None:
            continue  # unanswered: counted in the total, scores 0
        em += max(float(official_normalize(pred) == official_normalize(a)) for a in answers)
        f1 += max(official_f1(pred, a) for a in answers)
    return f1 / len(golds), em / len(golds)


WORDS = ["The", "the", "a", "An", "Obama", "obama", "White", "House", "U.S.", "Paris,", "paris", "tower!", "Tower"]


def random_answer(rng: np.random.Generator) -> str:
    return " ".join(str(w) for w in rng.choice(WORDS, size=int(rng.integers(1, 4))))


@pytest.mark.parametrize("seed", SEEDS)
def test_record_matches_official_logic(seed: int) -> None:
    rng = np.random.default_rng(seed)
    golds = [[random_answer(rng) for _ in range(int(rng.integers(1, 4)))] for _ in range(80)]
    preds: list[str | None] = [
        None if rng.random() < 0.05 else (g[0] if rng.random() < 0.4 else random_answer(rng)) for g in golds
    ]
    f1, em = official_record(golds, preds)
    assert compute_metric("record_f1", golds, preds) == pytest.approx(f1)
    assert compute_metric("record_em", golds, preds) == pytest.approx(em)


def test_record_fixed_examples() -> None:
    golds = [["The Eiffel Tower", "Eiffel"], ["Barack Obama"], ["Paris"]]
    preds = ["eiffel tower!", "Obama", None]
    assert compute_metric("record_em", golds, preds) == pytest.approx(1 / 3)
    assert compute_metric("record_f1", golds, preds) == pytest.approx((1 + 2 / 3 + 0) / 3)
    with pytest.raises(BenchkitError, match="non-empty list of gold answer strings"):
        compute_metric("record_f1", [[]], ["x"])


def test_exact_match_normalisations() -> None:
    refs, preds = ["The Cat.", "dog", " Bird"], ["cat", "Dog", "Bird "]
    assert compute_metric("exact_match", refs, preds) == 0.0
    assert compute_metric("exact_match", refs, preds, normalize="strip") == pytest.approx(1 / 3)
    assert compute_metric("exact_match", refs, preds, normalize="lower") == pytest.approx(2 / 3)
    assert compute_metric("exact_match", refs, preds, normalize="squad") == 1.0
    with pytest.raises(BenchkitError, match="normalize must be one of"):
        compute_metric("exact_match", refs, preds, normalize="SQuAD")


@pytest.mark.parametrize("seed", SEEDS)
def test_multirc_matches_sklearn_and_a_question_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    groups = [f"p{q // 5}-q{q}" for q in range(60) for _ in range(int(rng.integers(1, 6)))]
    refs = random_labels(rng, len(groups), ["False", "True"], [0.6, 0.4])
    preds = noisy_copy(rng, refs, ["False", "True"], flip=0.2)
    f1a = compute_metric("multirc_f1a", refs, preds, groups=groups)
    assert f1a == pytest.approx(skm.f1_score(refs, preds, pos_label="True"))
    by_question: dict[str, bool] = {}
    for g, r, p in zip(groups, refs, preds):
        by_question[g] = by_question.get(g, True) and r == p
    assert compute_metric("multirc_em", refs, preds, groups=groups) == pytest.approx(np.mean(list(by_question.values())))


def test_multirc_option_errors() -> None:
    with pytest.raises(BenchkitError, match="not one of the labels"):
        compute_metric("multirc_em", ["True", "false"], ["True", "True"], groups=["q1", "q1"], labels=["False", "True"])
    with pytest.raises(BenchkitError, match="needs option.*groups"):
        compute_metric("multirc_em", ["True"], ["True"])
    with pytest.raises(BenchkitError, match="one question key per answer"):
        compute_metric("multirc_em", ["True", "False"], ["True", "True"], groups=["q1"])
    with pytest.raises(BenchkitError, match="positive_label 'True'.*did you mean 'true'"):
        compute_metric("multirc_f1a", ["true", "false"], ["true", "true"])  # default positive label vs data's case


def test_gender_parity() -> None:
    preds = ["entailment", "entailment", "entailment", "not_entailment", "not_entailment", "not_entailment"]
    refs = ["entailment"] * 6
    assert compute_metric("gender_parity", refs, preds) == pytest.approx(2 / 3)
    rng = np.random.default_rng(7)
    preds = random_labels(rng, 356, ["entailment", "not_entailment"])
    expected = sum(preds[2 * i] == preds[2 * i + 1] for i in range(178)) / 178
    assert compute_metric("gender_parity", preds, preds) == pytest.approx(expected)
    with pytest.raises(BenchkitError, match="even number"):
        compute_metric("gender_parity", refs[:5], preds[:5])
