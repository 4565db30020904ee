"""A suite's score, and every task column of a release, average exactly each card's ``score_metrics``.

Records carry every metric a card lists (CoNLL: entity F1 with precision, recall, strict F1 and per-type F1;
LEPISZCZE: macro-F1 with accuracy and weighted F1). The release must score the metrics the cards name, so the
published per-dataset numbers come back out of a release when its records hold those numbers beside the others.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO
from release_helpers import invoke

from benchkit.cards.catalog import load_suite
from benchkit.release.collect import Run
from benchkit.release.scores import CISettings, summarize
from benchkit.contracts.run_records import (CardRef, Costs, MethodRef, ModelRef, Provenance, RunRecord, Selection,
                                    SplitResult)

PUBLISHED = json.loads((FIXTURES / "published_rows.json").read_text(encoding="utf-8"))

# LEPISZCZE accuracy (x100), the numbers in parentheses in reference section 6.5 (CLARIN-PL/embeddings results JSON
# metrics_avg): reported next to macro-F1 in every record, never averaged into the LEPISZCZE score.
LEPISZCZE_ACCURACY = {
    "herbert-base": {"abusive-clauses": 87.04, "cdsc-e": 94.02, "dialogue-acts": 76.50, "dyk": 90.40,
                     "polemo2-official": 88.20, "polemo2-in": 90.30, "polemo2-out": 75.06, "psc": 98.22},
    "xlmr-paraphrase": {"abusive-clauses": 86.42, "cdsc-e": 86.58, "dialogue-acts": 76.65, "dyk": 83.79,
                        "polemo2-official": 85.22, "polemo2-in": 85.57, "polemo2-out": 57.69, "psc": 73.99},
}


def record(task: str, suite: str, model: str, seed: int, metrics: dict[str, float], split: str = "test") -> RunRecord:
    """A run record as a run writes it (the release's input contract), holding the given metric values."""
    return RunRecord(
        config_hash=f"{task}-{model}-{seed}", suite=CardRef(id=suite, version="1.0.0"),
        task=CardRef(id=task, version="1.0.0"), model=ModelRef(name=model, source="hub", revision=None, sha256="0"),
        method=MethodRef(name="full"), seed=seed, recipe={}, recipe_sources={}, primary_metric=next(iter(metrics)),
        results={split: SplitResult(examples=10, metrics=metrics, score=0.0)}, score=0.0, selected_epoch=1.0,
        selection=Selection(rule="best", split="dev"), predictions={},
        costs=Costs(trainable_parameters=1, total_parameters=1, peak_memory_bytes=1, peak_memory_kind="process_rss",
                    train_seconds=1.0, eval_seconds=1.0, train_samples=1, epochs=1.0, train_samples_per_second=1.0),
        provenance=Provenance(benchkit_version="0", git_commit=None, git_dirty=None, data={}, libraries={},
                              hardware={}, created="2026-01-01T00:00:00+00:00"))


def runs_of(records: list[RunRecord]) -> list[Run]:
    return [Run(Path(f"/runs/{i}/record.json"), f"{i}/record.json", "0" * 64, r) for i, r in enumerate(records)]


@pytest.mark.parametrize("model", ["herbert-base", "xlmr-paraphrase"])
def test_lepiszcze_published_datasets_come_out_of_a_release(model: str) -> None:
    """Each published per-dataset macro-F1 is the release's column for that dataset, although the record also holds
    accuracy and weighted F1 (taggers: micro and weighted seqeval F1), and the suite score is their mean."""
    suite = load_suite("lepiszcze")
    published = PUBLISHED["lepiszcze"][model]["results"]
    records = []
    for task, splits in published.items():
        values = dict(splits["test"])
        name = task.split("/", 1)[1]
        if "f1_macro" in values:  # classification: accuracy as published, weighted F1 some other number
            values.update(accuracy=LEPISZCZE_ACCURACY.get(model, {}).get(name, 99.0), f1_weighted=1.0)
        else:
            values.update(seqeval_f1=99.0, seqeval_f1_weighted=1.0)
        records.append(record(task, "lepiszcze", model, 1, values))
    (entry,) = summarize(suite, runs_of(records), None, CISettings(resamples=0))
    for task, splits in published.items():
        (value,) = splits["test"].values()
        assert entry.tasks[task].score.mean == pytest.approx(value)
    assert not entry.suite.partial
    assert entry.suite.value == pytest.approx(statistics.fmean(next(iter(s["test"].values()))
                                                               for s in published.values()))
    assert round(entry.suite.value, 2) == PUBLISHED["lepiszcze"][model]["score"]


def test_conll_and_gonerd_suite_scores_are_entity_f1_alone() -> None:
    """BERT paper (Devlin et al. 2019, Table 3): CoNLL-2003 test F1 92.4 (base) and 92.8 (large). The records hold
    precision, recall, strict F1 and per-type F1 too; German is reported, not scored."""
    conll = load_suite("conll2003")
    other = {"seqeval_precision": 10.0, "seqeval_recall": 20.0, "seqeval_f1_strict": 30.0, "f1_PER": 40.0,
             "f1_LOC": 50.0, "f1_ORG": 60.0, "f1_MISC": 70.0}
    records = [record("conll2003/eng", "conll2003", "bert-base-cased", 1, {"seqeval_f1": 92.4, **other}),
               record("conll2003/eng", "conll2003", "bert-large-cased", 1, {"seqeval_f1": 92.8, **other}),
               record("conll2003/deu", "conll2003", "bert-base-cased", 1, {"seqeval_f1": 5.0, **other})]
    entries = {e.model.name: e for e in summarize(conll, runs_of(records), None, CISettings(resamples=0))}
    assert round(entries["bert-base-cased"].suite.value, 1) == 92.4
    assert round(entries["bert-large-cased"].suite.value, 1) == 92.8
    assert entries["bert-base-cased"].tasks["conll2003/eng"].score.mean == pytest.approx(92.4)

    gonerd = load_suite("gonerd")
    (entry,) = summarize(gonerd, runs_of([record("gonerd/gonerd", "gonerd", "m", s, {"seqeval_f1": f1, **other})
                                          for s, f1 in ((1, 80.0), (2, 82.0))]), None, CISettings(resamples=0))
    assert entry.suite.value == pytest.approx(81.0)
    assert entry.tasks["gonerd/gonerd"].score.values == (80.0, 82.0)


def write_ner_suite(root: Path) -> Path:
    """A user's NER benchmark on the CoNLL-2003 card (its eight metrics, ``score_metrics: [seqeval_f1]``) scored by
    the ``mean`` rule, with CoNLL-format files a tiny model learns from in a few epochs (names of three types in
    fixed slots of otherwise varied sentences). Returns the data folder."""
    import random

    rng = random.Random(0)
    names = {"PER": ["Peter Blackburn", "Jan Nowak", "Anna Kowalska"], "LOC": ["Paris", "Warsaw", "Berlin"],
             "ORG": ["Reuters", "Siemens", "Orlen"]}
    filler = ["said", "the", "report", "on", "monday", "was", "new", "talks", "ended", "today"]
    data = root / "data" / "ner"

    def sentence() -> str:
        kind = rng.choice(sorted(names))
        words = [(w, "O") for w in rng.sample(filler, 3)]
        words += [(w, f"I-{kind}") for w in rng.choice(names[kind]).split()]
        words += [(w, "O") for w in rng.sample(filler, 2)] + [(".", "O")]
        return "".join(f"{w} X X {t}\n" for w, t in words)

    rows = {"train": 96, "dev": 24, "test": 24}
    data.mkdir(parents=True)
    for split, n in rows.items():
        (data / f"{split}.txt").write_text("-DOCSTART- -X- -X- O\n\n" + "\n".join(sentence() for _ in range(n)),
                                           encoding="utf-8")
    (root / "tasks" / "ner").mkdir(parents=True)
    splits = "".join(f"  {s}: {{file: {s}.txt, rows: {n}}}\n" for s, n in rows.items())
    (root / "tasks" / "ner" / "names.yaml").write_text(
        f"extends: {REPO / 'tasks' / 'conll2003' / 'eng.yaml'}\nid: ner/names\nsource: {{dir: ner}}\n"
        f"splits:\n{splits}", encoding="utf-8")
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "ner.yaml").write_text(
        "id: ner\nversion: 1.0.0\nname: NER\ndescription: names\nlanguages: [eng-Latn]\n"
        "tasks:\n  - {id: ner/names, version: 1.0.0}\nscore_rule: mean\n", encoding="utf-8")
    return root / "data"


def test_a_release_of_a_mean_rule_suite_scores_its_score_metrics(tiny_model: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A real run and a real release with a CI: the manifest's suite score, the task column and results.jsonl are
    the run's entity F1 (not the mean of its eight metrics), and the CI brackets it."""
    data = write_ner_suite(tmp_path / "work")
    monkeypatch.chdir(tmp_path / "work")
    out = tmp_path / "out"
    result = invoke("run", "ner", "--data-dir", data, "--model", tiny_model, "--set", "epochs=6",
                    "--set", "learning_rate=0.005", "--set", "select=last", "--set", "bootstrap_resamples=0",
                    "--set", "max_length=32", "--set", "window_stride=8", "--set", "batch_size=8", "--out", out, "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    (path,) = out.glob("runs/**/record.json")
    metrics = json.loads(path.read_text(encoding="utf-8"))["results"]["test"]["metrics"]
    f1 = metrics["seqeval_f1"]
    assert f1 > 0.3 and abs(statistics.fmean(metrics.values()) - f1) > 0.01  # the run tells the two rules apart
    release = invoke("release", "ner", "--version", "1.0.0", "--runs", out, "--data-dir", data, "--resamples", "50")
    assert release.exit_code == 0, release.output
    folder = out / "releases" / "ner" / "1.0.0"
    (entry,) = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))["entries"]
    assert entry["suite_score"] == pytest.approx(f1)
    (row,) = [json.loads(line) for line in (folder / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert row["rule_score"] == pytest.approx(f1)
    low, high = entry["ci"]["low"], entry["ci"]["high"]
    assert low <= f1 + 1e-9 and f1 - 1e-9 <= high
