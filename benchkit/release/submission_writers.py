"""Official test-submission archives, written from run predictions with the official label strings.

``SUBMISSION_WRITERS`` is keyed by the names of ``benchkit.submission_formats.SUBMISSION_FORMATS`` (the layout facts);
a suite card's ``submission_format`` picks the writer. Layouts (reference: docs and benchmarks.md 1.5, 2.4, 3.3):

* glue: ``CoLA.tsv, SST-2.tsv, MRPC.tsv, STS-B.tsv, QQP.tsv, MNLI-m.tsv, MNLI-mm.tsv, QNLI.tsv, RTE.tsv, WNLI.tsv,
  AX.tsv``; header ``index<TAB>prediction``; tasks whose card maps file codes to label strings (CoLA, SST-2, MRPC,
  QQP, WNLI) write the file code (0/1), the NLI tasks their label strings, STS-B the score clipped to the card's
  value range ([0, 5]) and rounded to 3 decimals.
* superglue: ``<Task>.jsonl``, ``{"idx": int, "label": value}`` per line; BoolQ/WiC ``"true"/"false"``, WSC
  ``"True"/"False"``, COPA ``0/1``, CB/RTE/AX-b/AX-g label strings; MultiRC one line per paragraph with nested
  questions and answers (example ids ``<paragraph>-<question>-<answer>``), ReCoRD one line per query (the id is the
  query idx, the prediction the answer entity string).
* klej: ``test_pred_<task>.tsv``, one column with header ``target``, the original label strings (file codes where
  the card maps them) or numbers, in test-file order.
* lepiszcze: no predictions: ``<dataset>_<model with / as __>.json`` per dataset with the test metrics of every run
  (seed) and their mean and standard deviation, the JSON a pull request into ``CLARIN-PL/embeddings:webpage/data/
  results/`` adds (``webpage/content/submission.md``).

Each archive holds one (model, method) entry's predictions: per task the seed with the best dev score under the
suite's rule (ties: the lowest seed). A missing or unknown test id is refused, naming the predictions file.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from benchkit.cards.catalog import Suite
from benchkit.cards.schema import TaskCard
from benchkit.errors import BenchkitError, Problem
from benchkit.registry import Registry
from benchkit.release.scores import display_model
from benchkit.task_types import TASK_TYPES


@dataclass(frozen=True)
class TestPredictions:
    """One test split's predictions, aligned with the test file's example ids (file order)."""

    card: TaskCard
    split: str
    ids: list[str]
    values: list[Any]
    source: str = ""  # the predictions file, for messages


@dataclass(frozen=True)
class SubmissionWriter:
    name: str
    # the file a task's test split goes to, or None when the format has no place for it
    file_name: Callable[[TaskCard, str], str | None]
    # writes every file into the folder and returns their names
    write: Callable[[list[TestPredictions], Path], list[str]]
    # Benchmarks that publish scores rather than score test predictions (LEPISZCZE, whose test labels are public)
    # take every run of an entry instead: (suite, entry, folder) -> the names written. Set, it replaces ``write``.
    write_results: Callable[[Suite, Any, Path], list[str]] | None = None


SUBMISSION_WRITERS: Registry[SubmissionWriter] = Registry("submission writer")


def _config(card: TaskCard) -> str:
    return card.id.split("/", 1)[1]


def _refuse(preds: TestPredictions, message: str, hint: str) -> BenchkitError:
    return BenchkitError(Problem(f"{preds.card.id} {preds.split}: {message}", file=preds.source or None,
                                 field="prediction", hint=hint))


def file_code(card: TaskCard, label: str) -> str:
    """The raw file value the card maps to this official label string (the label itself when unmapped)."""
    for raw, name in (card.labels.map or {}).items() if card.labels else ():
        if name == label:
            return raw
    return label


def is_number(card: TaskCard) -> bool:
    return TASK_TYPES.get(card.type).target == "number"


def _missing_file(preds: TestPredictions, fmt: str) -> BenchkitError:
    return _refuse(preds, f"the {fmt} submission format has no file for this task and split",
                   "use a suite whose tasks are the benchmark's own, or set no submission_format")


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8", newline="\n")


# ---------------------------------------------------------------------------------------------------------------
# GLUE

GLUE_FILES = {
    ("cola", "test"): "CoLA.tsv", ("sst2", "test"): "SST-2.tsv", ("mrpc", "test"): "MRPC.tsv",
    ("stsb", "test"): "STS-B.tsv", ("qqp", "test"): "QQP.tsv", ("mnli", "test_matched"): "MNLI-m.tsv",
    ("mnli", "test_mismatched"): "MNLI-mm.tsv", ("qnli", "test"): "QNLI.tsv", ("rte", "test"): "RTE.tsv",
    ("wnli", "test"): "WNLI.tsv", ("ax", "test"): "AX.tsv",
}


def glue_value(card: TaskCard, value: Any) -> str:
    if is_number(card):
        low, high = card.value_range or (0.0, 5.0)
        return str(round(min(max(float(value), low), high), 3))
    return file_code(card, value)


def _glue_write(predictions: list[TestPredictions], folder: Path) -> list[str]:
    names = []
    for preds in predictions:
        name = GLUE_FILES.get((_config(preds.card), preds.split))
        if name is None:
            raise _missing_file(preds, "GLUE")
        lines = ["index\tprediction"] + [f"{i}\t{glue_value(preds.card, v)}" for i, v in zip(preds.ids, preds.values)]
        _write_text(folder / name, "\n".join(lines) + "\n")
        names.append(name)
    return names


SUBMISSION_WRITERS.add("glue", SubmissionWriter(
    "glue", lambda card, split: GLUE_FILES.get((_config(card), split)), _glue_write))

# ---------------------------------------------------------------------------------------------------------------
# SuperGLUE

SUPERGLUE_FILES = {
    "boolq": ("BoolQ.jsonl", "bool_lower"), "cb": ("CB.jsonl", "label"), "copa": ("COPA.jsonl", "choice"),
    "multirc": ("MultiRC.jsonl", "multirc"), "record": ("ReCoRD.jsonl", "record"), "rte": ("RTE.jsonl", "label"),
    "wic": ("WiC.jsonl", "bool_lower"), "wsc": ("WSC.jsonl", "bool_title"), "axb": ("AX-b.jsonl", "label"),
    "axg": ("AX-g.jsonl", "label"),
}
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


def _idx(value: str) -> Any:
    return int(value) if str(value).lstrip("-").isdigit() else value


def truth_of(card: TaskCard, value: Any) -> bool | None:
    """A label's truth value by its meaning, never its spelling: the official string itself when it says true or
    false in any case (BoolQ/WiC "true", WSC/MultiRC "True"), else the file value the card maps to it (JSON
    true/false, 0/1); None when it says neither."""
    for candidate in (value, file_code(card, value) if isinstance(value, str) else None):
        text = str(candidate).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    return None


def _boolean(preds: TestPredictions, value: Any) -> bool:
    truth = truth_of(preds.card, value)
    if truth is None:
        raise _refuse(preds, f"cannot write label {value!r} as true/false", "the card's labels must be booleans")
    return truth


def _choice(preds: TestPredictions, value: Any) -> int:
    code = file_code(preds.card, value)
    if str(code).isdigit():
        return int(code)
    names = preds.card.labels.names if preds.card.labels else []
    if value in names:
        return names.index(value)
    raise _refuse(preds, f"cannot write label {value!r} as a choice index", "COPA labels are choice1/choice2")


def superglue_value(preds: TestPredictions, kind: str, value: Any) -> Any:
    if kind == "bool_lower":
        return "true" if _boolean(preds, value) else "false"
    if kind == "bool_title":
        return "True" if _boolean(preds, value) else "False"
    if kind == "choice":
        return _choice(preds, value)
    return value  # label strings (CB, RTE, AX-b, AX-g) and ReCoRD answer entities


def _multirc_lines(preds: TestPredictions) -> list[dict[str, Any]]:
    paragraphs: dict[Any, dict[Any, list[dict[str, Any]]]] = {}
    for example_id, value in zip(preds.ids, preds.values):
        parts = str(example_id).split("-")
        if len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise _refuse(preds, f"MultiRC example id {example_id!r} is not <paragraph>-<question>-<answer>",
                          "MultiRC ids name the paragraph, question and answer idx, e.g. '0-1-3'")
        p, q, a = (int(x) for x in parts)
        paragraphs.setdefault(p, {}).setdefault(q, []).append({"idx": a, "label": int(_boolean(preds, value))})
    return [{"idx": p, "passage": {"questions": [{"idx": q, "answers": answers} for q, answers in questions.items()]}}
            for p, questions in paragraphs.items()]


def _superglue_write(predictions: list[TestPredictions], folder: Path) -> list[str]:
    names = []
    for preds in predictions:
        spec = SUPERGLUE_FILES.get(_config(preds.card)) if preds.split == "test" else None
        if spec is None:
            raise _missing_file(preds, "SuperGLUE")
        name, kind = spec
        if kind == "multirc":
            lines = _multirc_lines(preds)
        else:
            lines = [{"idx": _idx(i), "label": superglue_value(preds, kind, v)} for i, v in zip(preds.ids, preds.values)]
        _write_text(folder / name, "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines))
        names.append(name)
    return names


SUBMISSION_WRITERS.add("superglue", SubmissionWriter(
    "superglue", lambda card, split: SUPERGLUE_FILES[_config(card)][0]
    if split == "test" and _config(card) in SUPERGLUE_FILES else None, _superglue_write))

# ---------------------------------------------------------------------------------------------------------------
# KLEJ

KLEJ_TASKS = ("nkjp-ner", "cdsc-e", "cdsc-r", "cbd", "polemo2.0-in", "polemo2.0-out", "dyk", "psc", "ar")


def klej_value(card: TaskCard, value: Any) -> str:
    return repr(float(value)) if is_number(card) else file_code(card, value)


def _klej_write(predictions: list[TestPredictions], folder: Path) -> list[str]:
    names = []
    for preds in predictions:
        task = _config(preds.card)
        if task not in KLEJ_TASKS or preds.split != "test":
            raise _missing_file(preds, "KLEJ")
        name = f"test_pred_{task}.tsv"
        _write_text(folder / name, "target\n" + "".join(f"{klej_value(preds.card, v)}\n" for v in preds.values))
        names.append(name)
    return names


SUBMISSION_WRITERS.add("klej", SubmissionWriter(
    "klej", lambda card, split: f"test_pred_{_config(card)}.tsv"
    if split == "test" and _config(card) in KLEJ_TASKS else None, _klej_write))

# ---------------------------------------------------------------------------------------------------------------
# LEPISZCZE

# task -> (dataset key of the leaderboard's result files, leaderboard task name); CLARIN-PL/embeddings
# embeddings/evaluator/leaderboard.py and the reference's section 4.1.
LEPISZCZE_DATASETS = {
    "abusive-clauses": ("abusive_clauses", "Abusive Clauses Detection"),
    "aspectemo": ("aspectemo", "Aspect-based Sentiment Analysis"),
    "cdsc-e": ("cdsc_e", "Entailment Classification"),
    "dialogue-acts": ("dialogue_acts", "Dialogue Acts Classification"),
    "dyk": ("dyk", "Q&A Classification"),
    "kpwr-ner": ("kpwr_ner", "Named Entity Recognition"),
    "nkjp-pos": ("nkjp_pos", "Part-of-speech Tagging"),
    "polemo2-official": ("polemo2", "Sentiment Analysis"),
    "polemo2-in": ("polemo2_in", "Sentiment Analysis"),
    "polemo2-out": ("polemo2_out", "Sentiment Analysis"),
    "political-ads": ("political_advertising", "Political Advertising Detection"),
    "psc": ("psc", "Paraphrase Classification"),
    "punctuation": ("punctuation_restoration", "Punctuation Restoration"),
}


def lepiszcze_submission(card: TaskCard, entry: Any, runs: list[Any]) -> dict[str, Any]:
    """The result JSON of one (dataset, model): required keys submission_name, dataset_name, dataset_version,
    embedding_name, leaderboard_task_name, metrics (one dict per run, on the test split), metrics_avg, metrics_std
    (sample std over runs, ddof=1; 0 for one run), averaged_over; optional hparams and packages."""
    import statistics

    dataset, task_name = LEPISZCZE_DATASETS[_config(card)]
    runs = sorted(runs, key=lambda r: r.record.seed)
    per_run = [dict(r.record.results["test"].metrics) for r in runs]
    names = list(per_run[0])
    first = runs[0].record
    return {
        "submission_name": f"{display_model(entry.model.name)} / {entry.method.name}",
        "dataset_name": card.source.repo,
        "dataset_version": card.source.revision,  # the pinned Hub commit, or "unconfirmed" (see config.data)
        "embedding_name": entry.model.name,
        "leaderboard_task_name": task_name,
        "metrics": per_run,
        "metrics_avg": {m: statistics.fmean(r[m] for r in per_run) for m in names},
        "metrics_std": {m: statistics.stdev(r[m] for r in per_run) if len(per_run) > 1 else 0.0 for m in names},
        "averaged_over": len(per_run),
        "hparams": {**first.recipe, "method": first.method.name, "method_options": first.method.options,
                    "seeds": [r.record.seed for r in runs],
                    "selection": first.selection_used.model_dump(exclude_none=True)},
        # what was read: per split the file (a local copy's folder, or hub:<repo>@<commit>) and its sha256
        "config": {"task_card": f"{card.id}@{card.version}", "benchkit": first.provenance.benchkit_version,
                   "data": {split: d.model_dump() for split, d in sorted(first.provenance.data.items())}},
        "packages": [f"{name}=={version}" for name, version in sorted(first.provenance.libraries.items())],
    }


def _lepiszcze_file(card: TaskCard, model: str) -> str:
    return f"{LEPISZCZE_DATASETS[_config(card)][0]}_{model.replace('/', '__')}.json"


def _lepiszcze_results(suite: Suite, entry: Any, folder: Path) -> list[str]:
    by_task: dict[str, list[Any]] = {}
    for run in entry.runs:
        by_task.setdefault(run.record.task.id, []).append(run)
    names = []
    for card in suite.tasks:
        runs = [r for r in by_task.get(card.id, []) if "test" in r.record.results]
        if not runs:
            continue
        if _config(card) not in LEPISZCZE_DATASETS:
            raise BenchkitError(Problem(f"{card.id}: the LEPISZCZE submission format has no dataset for this task",
                                        field="submission_format",
                                        hint="use a suite whose tasks are LEPISZCZE's own, or set no submission_format"))
        name = _lepiszcze_file(card, display_model(entry.model.name))
        _write_text(folder / name, json.dumps(lepiszcze_submission(card, entry, runs), indent=2, ensure_ascii=False)
                    + "\n")
        names.append(name)
    return names


SUBMISSION_WRITERS.add("lepiszcze", SubmissionWriter(
    "lepiszcze", lambda card, split: None, lambda predictions, folder: [], _lepiszcze_results))

# ---------------------------------------------------------------------------------------------------------------
# archives and the release step


def zip_folder(folder: Path, names: list[str], archive: Path) -> None:
    """A deterministic zip (sorted names, fixed timestamps) of the named files, at the archive's top level."""
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as handle:
        for name in sorted(names):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            handle.writestr(info, (folder / name).read_bytes())


# How the run whose test predictions go into an archive is chosen (recorded with the seeds in the manifest and the
# datasheet): ``_best_seed_runs``; result-JSON formats (LEPISZCZE) take every run instead.
SEED_RULE = ("per task, the seed whose run has the best task score under the suite's rule on the split the release "
             "reports (ties: the lowest seed)")
ALL_SEEDS_RULE = "every seed's run (each run's test metrics and their mean over the seeds)"


def _best_seed_runs(entry: Any) -> dict[str, Any]:
    """Task id -> the run whose seed has the best dev score (ties: the lowest seed).

    The score is the task's score under the suite's rule (the mean of its entries for rules that split a task),
    or the record's own task score for tasks the rule does not count.
    """
    rule: dict[str, dict[int, list[float]]] = {}
    for summary in entry.tasks.values():
        for seed, value in zip(summary.seeds, summary.score.values):
            rule.setdefault(summary.task_id, {}).setdefault(seed, []).append(value)

    def score(run: Any) -> float:
        values = rule.get(run.record.task.id, {}).get(run.record.seed)
        return sum(values) / len(values) if values else run.record.score

    best: dict[str, Any] = {}
    for run in entry.runs:
        task = run.record.task.id
        if task not in best or (-_finite(score(run)), run.record.seed) < (-_finite(score(best[task])),
                                                                          best[task].record.seed):
            best[task] = run
    return best


def _finite(value: float) -> float:
    import math

    return value if math.isfinite(value) else -math.inf


def format_splits(suite: Suite, writer: SubmissionWriter) -> list[tuple[TaskCard, str, str]]:
    """(card, test split, file in the archive) for every test split of the suite the format has a file for."""
    return [(card, split, name) for card in suite.tasks for split in card.splits
            if split.startswith("test") and (name := writer.file_name(card, split)) is not None]


def _pack(folder: Path, slug: str, fmt: str, write: Callable[[Path], list[str]]) -> tuple[list[str], str]:
    """Write an entry's files into ``submissions/<entry>/`` and zip them to ``submissions/<entry>-<format>.zip``;
    returns the file names and the archive's path inside the release."""
    target = folder / slug
    target.mkdir(parents=True, exist_ok=True)
    names = write(target)
    archive = folder / f"{slug}-{fmt}.zip"
    zip_folder(target, names, archive)
    return names, archive.relative_to(folder.parent).as_posix()


def _test_predictions(fmt: str, wanted: list[tuple[TaskCard, str]], owners: dict[str, str], chosen: dict[str, Any],
                      cards: dict[str, TaskCard], data_dir: Path,
                      frames: dict[tuple[str, str], Any]) -> list[TestPredictions]:
    """The chosen runs' predictions for every test split the format has a file for (``frames`` caches the test
    frames across entries); a missing file, or predictions that miss or add test ids, are refused together."""
    from benchkit.predictions import read_predictions
    from benchkit.validation.frames import load_frames

    predictions: list[TestPredictions] = []
    problems: list[Problem] = []
    for card, split in wanted:
        owner = chosen[owners[card.id]]
        key = f"{card.id}:{split}" if card.evaluators else split
        path = owner.predictions(key)
        if path is None or not path.is_file():
            problems.append(Problem(
                f"no predictions for the test split '{split}' of {card.id} (key '{key}')", file=str(owner.path),
                field="predictions", hint=f"rerun with the {card.id} test file present in the data folder, or "
                                          "pass --no-submissions"))
            continue
        if (card.id, split) not in frames:
            frames[(card.id, split)] = load_frames(cards[card.id], data_dir, [split])[split]
        frame = frames[(card.id, split)]
        try:
            values = read_predictions(path, card, frame)
        except BenchkitError as err:
            problems.extend(Problem(f"{fmt} submission, {card.id} {split}: {p.message}", file=p.file, line=p.line,
                                    field=p.field, hint=p.hint) for p in err.problems)
            continue
        predictions.append(TestPredictions(card, split, [str(i) for i in frame["id"]], values, str(path)))
    if problems:
        raise BenchkitError(*problems)
    return predictions


def write_submissions(suite: Suite, entries: list[Any], data_dir: Path, folder: Path) -> list[dict[str, Any]]:
    """Write ``submissions/<entry>/`` and ``submissions/<entry>-<format>.zip`` per entry; returns manifest info.

    Entries that miss whole tasks (partial) get no archive (the reason is recorded). A run that lacks predictions
    for a test split, or whose predictions miss or add test ids, is refused.
    """
    fmt = suite.card.submission_format
    if fmt is None:
        return []
    writer = SUBMISSION_WRITERS.get(fmt)
    cards = {card.id: card for card in suite.tasks}
    wanted = [(card, split) for card, split, _ in format_splits(suite, writer)]
    frames: dict[tuple[str, str], Any] = {}
    info: list[dict[str, Any]] = []
    for entry in entries:
        if writer.write_results is not None:
            names, archive = _pack(folder, entry.slug, fmt, partial(writer.write_results, suite, entry))
            info.append({"entry": entry.slug, "format": fmt, "archive": archive,
                         "files": sorted(names), "runs": sorted(r.rel for r in entry.runs),
                         "seeds": {t: sorted(r.record.seed for r in entry.runs if r.record.task.id == t)
                                   for t in sorted({r.record.task.id for r in entry.runs})},
                         "seed_rule": ALL_SEEDS_RULE})
            continue
        chosen = _best_seed_runs(entry)
        owners = {card.id: next((t for t in card.evaluators if t in chosen), (card.evaluators or [card.id])[0])
                  for card, _ in wanted}
        missing = sorted(set(owners.values()) - set(chosen))
        if missing:
            info.append({"entry": entry.slug, "format": fmt, "archive": None,
                         "skipped": f"partial entry: no runs of {', '.join(missing)}"})
            continue
        predictions = _test_predictions(fmt, wanted, owners, chosen, cards, data_dir, frames)
        names, archive = _pack(folder, entry.slug, fmt, partial(writer.write, predictions))
        info.append({"entry": entry.slug, "format": fmt, "archive": archive,
                     "files": sorted(names),
                     "runs": {t: r.rel for t, r in sorted(chosen.items())},
                     "seeds": {t: r.record.seed for t, r in sorted(chosen.items())}, "seed_rule": SEED_RULE})
    return info
