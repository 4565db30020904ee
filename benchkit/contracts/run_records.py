"""L0 contract: run records, one JSON file per (task, model, method, seed), written atomically, with provenance,
results and costs.

The record is the contract between the runner and the release: ``RunRecord`` is what releases read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr

from benchkit.atomic import write_atomic

RECORD_SCHEMA = "benchkit.run-record/1"
RECORD_NAME = "record.json"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardRef(Strict):
    id: str
    version: str


class ModelRef(Strict):
    name: str
    source: str
    revision: str | None
    sha256: str


class MethodRef(Strict):
    name: str
    options: dict[str, Any] = {}
    # distillation: the teacher the student learned from ({"run": folder, "config_hash", "model"} or {"model"})
    teacher: dict[str, Any] | None = None


class DataFile(Strict):
    file: str
    sha256: str
    rows: int


class Provenance(Strict):
    benchkit_version: str
    git_commit: str | None
    git_dirty: bool | None
    data: dict[str, DataFile]
    # sha256 of the exact rows of each split the run used (after carving and subsetting): which rows trained,
    # selected and were evaluated. Empty in records written before benchkit recorded it.
    rows: dict[str, str] = {}
    # The data files of companion tasks this run predicted ("<task id>:<split>" -> file; e.g. AX-b with the RTE
    # model). Empty in records written before benchkit recorded it, and for tasks without companions.
    companions: dict[str, DataFile] = {}
    # Splits the card carves out of another (``derive:``, e.g. KLEJ CBD's dev from train): split -> {from, fraction,
    # stratify, seed, rows}. Empty in records written before benchkit recorded it, and where the card carves none.
    derived: dict[str, dict[str, Any]] = {}
    # The task card's content that shapes training and evaluation (``provenance.card_fields``): dotted path (e.g.
    # ``labels.map``, ``splits.train.file``) -> sha256 of its value. Releases refuse a record whose card content
    # differs from the card they read, naming the path. Empty in records written before benchkit recorded it.
    card: dict[str, str] = {}
    libraries: dict[str, str]
    hardware: dict[str, Any]
    created: str


class Selection(Strict):
    """How the reported checkpoint was chosen, so every score can say whether it was tuned on what it reports.

    ``rule`` "last": the last epoch, no selection. ``rule`` "best": the best epoch by the primary metric on
    ``split``: "train_holdout" (carved from train by ``derive``, never reported) or "dev": the reported split itself
    (such scores are labelled "selected on dev" wherever they appear), except on a card that reports its labelled
    test splits, where dev only chose the epoch ("best epoch on dev, reported on test", no badge).
    """

    rule: Literal["best", "last", "none"]  # none: nothing was trained (a prompted language model)
    split: str | None = None
    derive: dict[str, Any] | None = None  # {from, fraction, stratify, seed} of a carved selection split
    rows: int | None = None  # examples in the selection split
    train_rows: int | None = None  # training examples left after carving
    # The splits the record reports (``RunRecord.results``), set by ``RunRecord.selection_used``: a card with
    # labelled test splits selects on dev and reports test, so its dev selection is no "selected on dev" claim.
    _reported: tuple[str, ...] | None = PrivateAttr(default=None)

    def reporting(self, splits: Iterable[str]) -> Selection:
        """This selection, knowing the splits its scores are reported on (none given: unknown, read as dev)."""
        copy = self.model_copy()
        copy._reported = tuple(sorted(splits)) or None
        return copy

    @property
    def on_dev_split(self) -> bool:
        return self.rule == "best" and self.split is not None and self.split.startswith("dev")

    @property
    def on_dev(self) -> bool:
        """Selected on the dev split its scores are reported on (optimistic scores, badged wherever shown)."""
        return self.on_dev_split and (self._reported is None or any(s.startswith("dev") for s in self._reported))

    @property
    def label(self) -> str:
        if self.rule == "none":
            return "not trained, no selection"
        if self.rule == "last":
            return "last epoch, no selection"
        if self.on_dev:
            return "selected on dev"
        if self.on_dev_split:  # dev chose the epoch; only test splits are reported
            return f"best epoch on {self.split}, reported on {', '.join(self._reported or ())}"
        fraction = (self.derive or {}).get("fraction")
        share = f"{fraction:.0%} " if isinstance(fraction, float) else ""
        return f"best epoch on a {share}holdout of train"


class Pruned(Strict):
    """A search trial stopped early by the median rule (``benchkit.search.pruning``): at this evaluation its selection
    metric was worse than the median of the completed trials' at the same evaluation. It has no reported results."""

    evaluation: int  # 1-based: the n-th evaluation on the selection split
    epoch: float
    value: float
    median: float
    trials: int  # completed trials the median is over


class Trial(Strict):
    """Where a run stands in a hyperparameter search (``benchkit search``)."""

    search: str  # the search's id: its folder is <out>/searches/<suite>/<search>/
    number: int
    point: dict[str, Any]  # the hyperparameters this trial tried


def reports_test(card: Any) -> bool:
    """A card with labelled test splits (LEPISZCZE, CoNLL-2003) reports them and selects the epoch on dev; otherwise
    the labelled dev splits are reported."""
    return any(name.startswith("test") and split.labels == "present" for name, split in card.splits.items())


def selection_protocol(select_dev: bool, fraction: float, seed: int, on_test: list[str],
                       reports_dev: bool) -> dict[str, Any]:
    """The search's selection as stated: tasks whose cards report labelled test splits (``on_test``) select on dev
    whatever ``select_on`` says (train.loop) and dev is not reported there, so they are "selected on dev, reported
    on test", never "selected on dev" (a claim about reported scores) nor a holdout of train."""
    base = "selected on dev" if select_dev else f"selected on a {fraction:.0%} holdout of train"
    test_text = "selected on dev, reported on test (dev is not reported)"
    label = test_text if not reports_dev else f"{base}; {', '.join(on_test)}: {test_text}" if on_test else base
    holdout = not select_dev and reports_dev
    return {"on_dev": select_dev and reports_dev, "label": label, "reported_on_test": on_test,
            "holdout": {"fraction": fraction, "seed": seed, "stratify": True} if holdout else None}


def legacy_selection(recipe: dict[str, Any]) -> Selection:
    """Records written before selection was recorded chose the best epoch on the first dev split."""
    return Selection(rule="best", split="dev") if recipe.get("select", "best") == "best" else Selection(rule="last")


class SplitResult(Strict):
    examples: int
    metrics: dict[str, float]
    score: float
    ci: dict[str, Any] | None = None


class Costs(Strict):
    trainable_parameters: int
    total_parameters: int
    peak_memory_bytes: int
    peak_memory_kind: str  # "cuda_max_allocated" or "process_rss"
    train_seconds: float
    eval_seconds: float
    train_samples: int
    epochs: float
    train_samples_per_second: float
    # Measured the same way for every method (train/costs.py); None in records written before benchkit measured them.
    optimizer_state_bytes: int | None = None
    inference_ms_per_example: float | None = None
    inference_batch_size: int | None = None
    # What the latency was measured on: the split, the seed of its sample (``costs.latency_sample``; the sample's
    # size is ``inference_batch_size``) and the precision (the run's: fp32, bf16, fp16). None in older records.
    inference_split: str | None = None
    inference_sample_seed: int | None = None
    inference_precision: str | None = None
    # Prompted language models (and any run that measures them): tokens run through the model while evaluating,
    # and evaluation examples per second (every evaluated split, shots included in the tokens).
    tokens_processed: int | None = None
    examples_per_second: float | None = None


class SourceRun(Strict):
    """The finished run whose saved model made an evaluation-only record's predictions (AdvGLUE: a GLUE run)."""

    task: CardRef
    config_hash: str
    record: str  # its record.json, relative to the runs folder
    model_dir: str  # the saved model used, relative to the runs folder
    data: dict[str, DataFile] = {}  # the source task's splits compared with, as that run used them


class Drop(Strict):
    """An evaluation-only record's score on one split against its source run's on the source task's split (the split
    of the same name, else its dev split): ``value`` = source score - this score, both task scores under THIS card's
    metrics, with a bootstrap CI of the difference that resamples the two example sets independently."""

    split: str  # this record's split (dev, dev_matched, ...)
    source_split: str  # the source task's split compared with
    score: float
    source_score: float
    source_metrics: dict[str, float]  # this card's metrics on the source split
    source_examples: int
    value: float
    ci: dict[str, Any] | None = None
    source_predictions: str  # the source split's {"id", "gold", "prediction"} lines, relative to the record


class AnswerStats(Strict):
    """How a prompted model's answers became predictions on one split (generation parsed to a label, number or
    entities): counts per way (exact, normalised, edit_distance, unparsed), and the share that needed the fallback
    (edit distance) or could not be parsed; 10% or more is flagged wherever the score is shown."""

    counts: dict[str, int]
    fallback_share: float
    flagged: bool


class Prompting(Strict):
    """How a generative language model was asked (a record of a zero- or few-shot run; None for fine-tuned runs)."""

    mode: Literal["zero-shot", "few-shot"]
    shots: int  # k: shot examples per prompt, drawn from train, stratified by label, seeded by the run's seed
    prompt: str  # the prompt's name
    prompt_sha256: str
    prompt_source: str | None = None
    answer: Literal["loglikelihood", "generate"]
    # loglikelihood: predictions choose the answer with the largest summed log-probability (lm-evaluation-harness's
    # acc); acc_norm divides by the answer's length in characters -- its accuracy per split is in ``acc_norm``.
    acc_norm: dict[str, float] = {}
    chat_template: bool  # the tokenizer's chat template wrapped each prompt
    backend: str  # transformers or vllm
    window: int  # the model's context window in tokens
    # Examples whose prompt did not fit the window with all k shots: shots were dropped, last first (never the
    # input), split -> count of such examples; and the fewest shots any prompt kept.
    truncated: dict[str, int] = {}
    fewest_shots: int | None = None
    parse: dict[str, AnswerStats] = {}  # generation: split -> how answers were parsed
    flagged: bool = False  # any split's fallback share >= 10%


class RunRecord(Strict):
    schema_: str = RECORD_SCHEMA
    config_hash: str
    suite: CardRef
    task: CardRef
    model: ModelRef
    method: MethodRef
    seed: int
    recipe: dict[str, Any]
    recipe_sources: dict[str, str]
    primary_metric: str
    # Reported splits -> metrics: the labelled test splits where the card has them (LEPISZCZE, whose test labels are
    # public), else the labelled dev splits (dev, dev_matched, ...).
    results: dict[str, SplitResult]
    score: float  # task score: mean over the reported splits of the mean of the card's metrics
    # Labelled dev splits evaluated but not reported (the card reports on test): never part of ``score``.
    dev_results: dict[str, SplitResult] = {}
    selected_epoch: float | None
    selection: Selection | None = None  # None only in records written before benchkit recorded it
    # The primary metric on the selection split at each evaluation, [epoch, value], and at the reported checkpoint
    # (the best; the last for rule "last" when evaluated): a search's objective. Empty/None without a selection split.
    selection_curve: list[tuple[float, float]] = []
    selection_score: float | None = None
    pruned: Pruned | None = None  # a search trial stopped early: not a result (releases and 'run' skip it)
    trial: Trial | None = None  # set on the runs a search made as trials
    predictions: dict[str, str]  # split -> path of the predictions JSONL, relative to the record
    # Labelled splits of companion tasks predicted by this run's model ("<task id>:<split>", e.g. AX-b and AX-g with
    # the RTE model), scored with the companion card's metrics. Diagnostics: never part of ``score``.
    diagnostics: dict[str, SplitResult] = {}
    costs: Costs
    provenance: Provenance
    model_dir: str | None = None  # the run's saved final model, relative to the record (None: not kept)
    # Evaluation-only records (a task with no train split predicted by another task's run, e.g. AdvGLUE by GLUE):
    # the run whose model predicted, and per evaluation split the drop from that run's score on its own split.
    source: SourceRun | None = None
    drops: dict[str, Drop] = {}
    prompting: Prompting | None = None  # a zero- or few-shot run of a generative language model

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @property
    def selection_used(self) -> Selection:
        return (self.selection or legacy_selection(self.recipe)).reporting(self.results)

    def dump(self) -> dict[str, Any]:
        data = self.model_dump(by_alias=True)
        data["schema"] = data.pop("schema_")
        return data

    @classmethod
    def parse(cls, data: dict[str, Any]) -> "RunRecord":
        data = dict(data)
        data["schema_"] = data.pop("schema", RECORD_SCHEMA)
        return cls.model_validate(data)


def write_record(folder: Path, record: RunRecord) -> Path:
    path = folder / RECORD_NAME
    write_atomic(path, json.dumps(record.dump(), indent=2, sort_keys=False) + "\n")
    return path


def write_predictions(path: Path, ids: list[str], predictions: list[Any]) -> None:
    write_atomic(path, "".join(json.dumps({"id": i, "prediction": p}, ensure_ascii=False) + "\n"
                               for i, p in zip(ids, predictions)))


def iter_records(root: Path, pruned: bool = False) -> Iterator[tuple[Path, RunRecord]]:
    """Every complete record under ``root`` (unreadable or foreign JSON files are skipped). Records of pruned search
    trials are left out unless ``pruned``: they hold no result, so a plain run of the same configuration trains it."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob(RECORD_NAME)):
        try:
            record = RunRecord.parse(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, OSError):
            continue
        if record.pruned is None or pruned:
            yield path, record
