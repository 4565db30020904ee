"""The LEPISZCZE task cards and suite card on local copies of its Hub datasets (tests/fixtures/lepiszcze, in the three
layouts a user meets: the CSV repository as downloaded, the Hub's Parquet conversion, a ``save_to_disk`` export):
the facts the cards state, validate, ClassLabel ints as the datasets' own strings, score against sklearn and
seqeval, the features check, revisions (pinned, unconfirmed), and run + release with the LEPISZCZE result JSONs.

The cards state the published row counts and the fixtures hold a few rows each, so most checks read the fixtures
through cards that extend the official ones with the fixture counts (tests/card_helpers.py).
"""

from __future__ import annotations

import json
import shutil
import statistics
import zipfile
from pathlib import Path
from typing import Any

import pytest
from card_helpers import card_with_rows
from release_helpers import invoke, one_line_errors
from conftest import FIXTURES, REPO
from sklearn.metrics import accuracy_score, f1_score

from benchkit.cards.catalog import load_suite
from benchkit.cards.loader import load_task_card
from benchkit.errors import BenchkitError
from benchkit.validation.frames import load_frames

DATA = FIXTURES / "lepiszcze"
PUBLISHED = json.loads((FIXTURES / "published_rows.json").read_text(encoding="utf-8"))["lepiszcze"]
ROWS_HINT = "the file may be truncated, modified or another version of the dataset"

# task -> (Hub repo, published rows per split, kind); reference section 4.1 (polemo2-out: 494/494, as there).
CARDS: dict[str, tuple[str, dict[str, int], str]] = {
    "lepiszcze/abusive-clauses": ("laugustyniak/abusive-clauses-pl", {"train": 4284, "dev": 1519, "test": 3453}, "class"),
    "lepiszcze/aspectemo": ("clarin-pl/aspectemo", {"train": 1173, "test": 292}, "tags"),
    "lepiszcze/cdsc-e": ("allegro/klej-cdsc-e", {"train": 8000, "dev": 1000, "test": 1000}, "class"),
    "lepiszcze/dialogue-acts": ("clarin-pl/dialogue-acts", {"train": 70454, "dev": 8807, "test": 8807}, "class"),
    "lepiszcze/dyk": ("allegro/klej-dyk", {"train": 4154, "test": 1029}, "class"),
    "lepiszcze/kpwr-ner": ("clarin-pl/kpwr-ner", {"train": 13959, "test": 4323}, "tags"),
    "lepiszcze/nkjp-pos": ("clarin-pl/nkjp-pos", {"train": 78219, "test": 7444}, "tags"),
    "lepiszcze/polemo2-official": ("clarin-pl/polemo2-official", {"train": 6573, "dev": 823, "test": 820}, "class"),
    "lepiszcze/polemo2-in": ("allegro/klej-polemo2-in", {"train": 5783, "dev": 723, "test": 722}, "class"),
    "lepiszcze/polemo2-out": ("allegro/klej-polemo2-out", {"train": 5783, "dev": 494, "test": 494}, "class"),
    "lepiszcze/political-ads": ("laugustyniak/political-advertising-pl",
                                        {"train": 1020, "dev": 340, "test": 341}, "tags"),
    "lepiszcze/psc": ("allegro/klej-psc", {"train": 4302, "test": 1078}, "class"),
    "lepiszcze/punctuation": ("clarin-pl/2021-punctuation-restoration", {"train": 800, "test": 200}, "tags"),
}
# Commits seen in the download URLs of the LEPISZCZE leaderboard runs (CLARIN-PL/embeddings webpage/data/results).
PINNED = {
    "lepiszcze/abusive-clauses": "f957fb65d2691e1e4ebfaf50b5778fcc6e94b1ae",
    "lepiszcze/cdsc-e": "4d7d1a119010f9414e32bae8bd49b72201771585",
    "lepiszcze/dyk": "28a47f4d44da842e37d9fe74eb8cb9b13b1162a5",
    "lepiszcze/polemo2-in": "eb79c2eebc319d78b101b8afb509132ab7ba0005",
    "lepiszcze/polemo2-out": "cb59e71ea794d98940eda5f9f88aea7c916d66b2",
    "lepiszcze/psc": "2ea9349b8568f41e24bd793fcbc83abba953a4e6",
}
NO_VALIDATION = ("lepiszcze/aspectemo", "lepiszcze/dyk", "lepiszcze/kpwr-ner", "lepiszcze/nkjp-pos", "lepiszcze/psc",
                 "lepiszcze/punctuation")




def fixture_rows(task: str) -> dict[str, int]:
    """Rows per split of the fixture copy, counted with datasets itself (not benchkit's reader)."""
    import datasets

    card = load_task_card(REPO / "tasks" / f"{task}.yaml")
    folder = DATA / card.source.dir
    if (folder / "dataset_dict.json").is_file():
        data = datasets.load_from_disk(str(folder))
    elif card.source.config and (folder / card.source.config).is_dir():
        data = datasets.load_dataset(str(folder), data_dir=card.source.config)
    else:
        data = datasets.load_dataset(str(folder))
    return {split: len(data[spec.hf_split]) for split, spec in card.splits.items() if spec.hf_split}


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The official cards with the fixture row counts, under tasks/lepiszcze of a working folder (found first)."""
    where = tmp_path_factory.mktemp("lepiszcze-work") / "tasks" / "lepiszcze"
    return {task: card_with_rows(where / f"{task.split('/')[1]}.yaml", task, fixture_rows(task)) for task in CARDS}


# ---------------------------------------------------------------------------------------------------------------
# the cards


@pytest.mark.parametrize("task", list(CARDS))
def test_cards_state_the_published_facts(task: str) -> None:
    card = load_task_card(REPO / "tasks" / f"{task}.yaml")
    repo, rows, kind = CARDS[task]
    assert card.source.format == "hub" and card.source.repo == repo and card.source.dir == repo
    assert card.language == "pol-Latn"
    assert {s: spec.rows for s, spec in card.splits.items() if spec.rows} == rows
    assert all(spec.labels == "present" for spec in card.splits.values())  # LEPISZCZE's test labels are public
    if task in NO_VALIDATION:  # LEPISZCZE's 10% of train for its search, seed 441
        derive = card.splits["dev"].derive
        assert derive is not None and (derive.from_, derive.fraction, derive.seed) == ("train", 0.1, 441)
    else:
        assert card.splits["dev"].hf_split == "validation"
    primary = "f1_macro" if kind == "class" else "seqeval_f1_macro"
    assert card.primary_metric == primary and card.score_metrics == [primary]
    if kind == "class":  # averaged over the labels present, as sklearn (HF evaluate, LEPISZCZE) does by default
        assert next(m for m in card.metrics if m.name == "f1_macro").options == {"labels": None}
    if task in PINNED:
        assert card.source.revision == PINNED[task]
        assert card.source.revision_source.startswith("CLARIN-PL/embeddings:webpage/data/results/")
    else:  # never an invented commit: the card says so and why
        assert card.source.revision == "unconfirmed" and "could" in card.source.revision_source


def test_label_sets_are_the_datasets_own_strings() -> None:
    def names(task: str) -> list[str]:
        return load_task_card(REPO / "tasks" / f"{task}.yaml").labels.names

    assert names("lepiszcze/abusive-clauses") == ["BEZPIECZNE_POSTANOWIENIE_UMOWNE", "KLAUZULA_ABUZYWNA"]
    assert names("lepiszcze/polemo2-official") == ["zero", "minus", "plus", "amb"]
    assert names("lepiszcze/cdsc-e") == ["NEUTRAL", "CONTRADICTION", "ENTAILMENT"]
    assert set(names("lepiszcze/aspectemo")) == {"O", "a_minus_m", "a_minus_s", "a_zero", "a_plus_s", "a_plus_m",
                                                 "a_amb"}
    kpwr = names("lepiszcze/kpwr-ner")
    assert len(kpwr) == 161 and kpwr[-1] == "O" and sum(n.startswith("B-nam_") for n in kpwr) == 82
    political = names("lepiszcze/political-ads")
    assert len(political) == 19 and "B-HEALHCARE" in political and "I-INFRASTRUCTURE_AND_ENVIROMENT" in political
    assert sorted(names("lepiszcze/punctuation")) == sorted(
        ["O", "B-.", "B-,", "B--", "B-:", "B-?", "B-!", "B-;"])
    assert len(names("lepiszcze/nkjp-pos")) == 35 and len(names("lepiszcze/dialogue-acts")) == 54


def test_suite_card_and_the_published_rows() -> None:
    suite = load_suite("lepiszcze")
    assert suite.card.score_rule == "lepiszcze" and suite.card.submission_format == "lepiszcze"
    assert [t.id for t in suite.tasks] == list(CARDS)
    from benchkit.scoring.scores import SuiteScoreInput, suite_score

    for model, row in PUBLISHED.items():
        assert sorted(row["results"]) == sorted(CARDS), model
        score = suite_score(SuiteScoreInput.from_results(row["results"]), suite.card.score_rule)
        assert round(score.value, 2) == row["score"], model  # e.g. HerBERT base 71.67: a mean over 13 datasets


# ---------------------------------------------------------------------------------------------------------------
# local copies, offline


def test_fixtures_are_in_the_three_layouts() -> None:
    assert (DATA / "allegro/klej-cdsc-e/valid.csv").is_file()  # the CSV repository as downloaded
    assert (DATA / "clarin-pl/kpwr-ner/default/train/0000.parquet").is_file()  # the Parquet conversion
    assert (DATA / "clarin-pl/dialogue-acts/dataset_dict.json").is_file()  # save_to_disk


@pytest.mark.parametrize("task", list(CARDS))
def test_validate_on_the_fixtures(task: str, cards: dict[str, Path]) -> None:
    found = fixture_rows(task)
    official = invoke("validate", task, "--data-dir", DATA)
    folder = DATA / CARDS[task][0]
    assert one_line_errors(official) == [
        f"error: {folder}: splits.{split}.rows: expected {n} rows, found {found[split]} (hint: {ROWS_HINT})"
        for split, n in CARDS[task][1].items()]

    result = invoke("validate", cards[task], "--data-dir", DATA, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["errors"], report["warnings"]) == (0, 0), report
    (entry,) = report["tasks"]
    assert entry["splits"] == {"train": "ok", "dev": "derived" if task in NO_VALIDATION else "ok", "test": "ok"} or \
        entry["splits"] == {"train": "ok", "dev": "ok", "test": "ok"}
    assert entry["rows"]["test"] == found["test"]


def test_classlabel_ints_arrive_as_the_datasets_strings(cards: dict[str, Path]) -> None:
    import pyarrow.parquet as pq

    kpwr = load_task_card(cards["lepiszcze/kpwr-ner"])
    frames = load_frames(kpwr, DATA, ["train", "test"])
    stored = pq.read_table(DATA / "clarin-pl/kpwr-ner/default/train/0000.parquet").to_pydict()
    assert stored["ner"][0] == [73, 160, 73, 151, 160]  # the description's train[0], as ints in the file
    first = frames["train"].sort_values("_location").iloc[0]
    assert list(first["tokens"]) == ["RoboRally", "czy", "Wysokie", "napięcie", "?"]
    assert list(first["tags"]) == ["B-nam_pro_title", "O", "B-nam_pro_title", "I-nam_pro_title", "O"]
    polemo = load_frames(load_task_card(cards["lepiszcze/polemo2-official"]), DATA, ["train"])["train"]
    assert polemo.sort_values("_location").iloc[0]["label"] == "minus"  # ClassLabel 1 of [zero, minus, plus, amb]
    assert polemo.sort_values("_location").iloc[0]["text"].startswith("Na samym wejściu hotel śmierdzi")


def test_the_same_card_reads_the_csv_repository_and_an_export(tmp_path: Path, cards: dict[str, Path]) -> None:
    """A user who exported the dataset with datasets (save_to_disk) gets the same rows as from the repository."""
    import datasets

    card = load_task_card(cards["lepiszcze/cdsc-e"])
    from_repo = load_frames(card, DATA)
    export = tmp_path / "data" / card.source.dir
    datasets.load_dataset(str(DATA / card.source.dir)).save_to_disk(str(export))
    from_export = load_frames(card, tmp_path / "data")
    for split in ("train", "dev", "test"):
        columns = ["id", "text", "text_pair", "label"]
        assert from_repo[split][columns].to_dict("records") == from_export[split][columns].to_dict("records")
    assert list(from_repo["test"]["label"]) == ["ENTAILMENT", "CONTRADICTION", "NEUTRAL"]


def test_a_folder_with_only_a_loading_script_says_what_to_download(tmp_path: Path) -> None:
    folder = tmp_path / "data" / "clarin-pl" / "aspectemo"
    folder.mkdir(parents=True)
    (folder / "aspectemo.py").write_text("# a datasets loading script\n", encoding="utf-8")
    (errors,) = [one_line_errors(invoke("validate", "lepiszcze/aspectemo", "--data-dir", tmp_path / "data"))]
    assert errors == [
        f"error: {folder}: source.dir: the folder holds a loading script (aspectemo.py) and no data files; datasets 4 "
        "and later run no scripts (hint: download the Hub's Parquet conversion instead: huggingface-cli download "
        f"clarin-pl/aspectemo --repo-type dataset --revision refs/convert/parquet --local-dir {folder})"]


# ---------------------------------------------------------------------------------------------------------------
# a Hub dataset whose features differ from the card


def _parquet_copy(tmp_path: Path, repo: str, config: str, change: Any) -> Path:
    """A copy of a fixture's Parquet conversion with the features changed by ``change(features) -> features``."""
    import datasets

    root = tmp_path / "data"
    for split_dir in (DATA / repo / config).iterdir():
        data = datasets.Dataset.from_parquet(str(split_dir / "0000.parquet"))
        features = change(data.features.copy())
        data = data.cast(features) if set(features) == set(data.features) else data
        target = root / repo / config / split_dir.name / "0000.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        data.to_parquet(str(target))
    return root


def test_classlabel_names_other_than_the_cards(tmp_path: Path, cards: dict[str, Path]) -> None:
    import datasets

    def english(features: datasets.Features) -> datasets.Features:
        features["target"] = datasets.ClassLabel(names=["neutral", "negative", "positive", "ambivalent"])
        return features

    root = _parquet_copy(tmp_path, "clarin-pl/polemo2-official", "all_text", english)
    errors = one_line_errors(invoke("validate", cards["lepiszcze/polemo2-official"], "--data-dir", root))
    folder = root / "clarin-pl/polemo2-official"
    expected = (f"error: {folder}: fields.label: the dataset's ClassLabel names for 'target' ['neutral', 'negative', "
                "'positive', 'ambivalent'] include ['neutral', 'negative', 'positive', 'ambivalent'] that the card's "
                "labels ['zero', 'minus', 'plus', 'amb'] do not (hint: the card's labels.names (or labels.map) must "
                "cover the dataset's names; is the card's revision the dataset's?)")
    assert errors == [expected] * 3  # once per split, not once per row


def test_a_column_of_another_type_than_the_card_reads(tmp_path: Path, cards: dict[str, Path]) -> None:
    import datasets

    def joined(features: datasets.Features) -> datasets.Features:
        return features

    root = tmp_path / "data"
    for split in ("train", "test"):
        data = datasets.Dataset.from_parquet(str(DATA / f"clarin-pl/nkjp-pos/default/{split}/0000.parquet"))
        data = data.map(lambda row: {"tokens": " ".join(row["tokens"])})  # one string, not a token list
        target = root / f"clarin-pl/nkjp-pos/default/{split}/0000.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        data.to_parquet(str(target))
    errors = one_line_errors(invoke("validate", cards["lepiszcze/nkjp-pos"], "--data-dir", root))
    folder = root / "clarin-pl/nkjp-pos"
    assert errors[0] == (
        f"error: {folder}: fields.tokens: the dataset declares column 'tokens' as a string; the card reads it as "
        "tokens, which needs a list of strings (hint: is fields.tokens the right column? the card may describe another "
        "version of the dataset)")
    assert len(errors) == 2  # train and test (dev is carved from train)


# ---------------------------------------------------------------------------------------------------------------
# revisions


def test_a_branch_is_not_a_pin_and_unconfirmed_needs_a_reason(tmp_path: Path) -> None:
    base = REPO / "tasks" / "lepiszcze" / "psc.yaml"
    branch = tmp_path / "branch.yaml"
    branch.write_text(f"extends: {base}\nsource: {{revision: main}}\n", encoding="utf-8")
    (error,) = one_line_errors(invoke("validate", branch))
    assert "source.revision 'main' is a branch, which moves" in error
    assert "hint: pin a commit sha, or write revision: unconfirmed with revision_source: why" in error
    silent = tmp_path / "silent.yaml"
    silent.write_text(f"extends: {base}\nsource: {{revision: unconfirmed, revision_source: null}}\n", encoding="utf-8")
    (error,) = one_line_errors(invoke("validate", silent))
    assert "source.revision is unconfirmed and revision_source does not say why" in error


def test_unconfirmed_revision_resolves_to_the_cached_commit_offline(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    from benchkit.sources.hub_local import resolve_revision

    card = load_task_card(REPO / "tasks" / "lepiszcze" / "kpwr-ner.yaml")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # read once, at import
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(BenchkitError) as err:
        resolve_revision(card.source)
    (problem,) = err.value.problems
    assert problem.field == "source.revision" and "the card's revision is unconfirmed" in problem.message
    assert problem.hint == "download it into --data-dir (clarin-pl/kpwr-ner), or pin a commit with source.revision"
    ref = tmp_path / "hub" / "datasets--clarin-pl--kpwr-ner" / "refs" / "main"  # huggingface_hub's cache layout
    ref.parent.mkdir(parents=True)
    ref.write_text("0123456789abcdef0123456789abcdef01234567", encoding="utf-8")
    assert resolve_revision(card.source) == "0123456789abcdef0123456789abcdef01234567"
    pinned = load_task_card(REPO / "tasks" / "lepiszcze" / "psc.yaml")
    assert resolve_revision(pinned.source) == PINNED["lepiszcze/psc"]


def test_runs_are_keyed_by_the_local_copys_content(tmp_path: Path, cards: dict[str, Path]) -> None:
    from benchkit.execute.plan import data_files

    card = load_task_card(cards["lepiszcze/psc"])
    root = tmp_path / "data"
    shutil.copytree(DATA / card.source.dir, root / card.source.dir)
    first = data_files(card, root)
    assert first["test"].file == "allegro/klej-psc:test" and len(first["test"].sha256) == 64
    path = root / card.source.dir / "test.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("Zima", "Lato"), encoding="utf-8")
    assert data_files(card, root)["test"].sha256 != first["test"].sha256  # another copy: another configuration


# ---------------------------------------------------------------------------------------------------------------
# score: LEPISZCZE's macro-F1 against sklearn and seqeval


def _predictions(path: Path, rows: list[tuple[str, Any]]) -> Path:
    path.write_text("".join(json.dumps({"id": i, "prediction": p}, ensure_ascii=False) + "\n" for i, p in rows[::-1]),
                    encoding="utf-8")
    return path


def test_score_macro_f1_over_present_labels_matches_sklearn(tmp_path: Path, cards: dict[str, Path]) -> None:
    card = cards["lepiszcze/polemo2-in"]
    test = load_frames(load_task_card(card), DATA, ["test"])["test"]
    gold = list(test["label"])
    # a wrong label where gold has 'zero'; no prediction of it: the macro average runs over the labels present
    predicted = [g if i % 2 == 0 else "__label__meta_minus_m" for i, g in enumerate(gold)]
    file = _predictions(tmp_path / "p.jsonl", list(zip(test["id"], predicted)))
    result = invoke("score", card, file, "--data-dir", DATA, "--split", "test", "--json", "--resamples", "0")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["f1_macro"] == pytest.approx(f1_score(gold, predicted, average="macro"))
    assert metrics["accuracy"] == pytest.approx(accuracy_score(gold, predicted))
    assert metrics["f1_weighted"] == pytest.approx(f1_score(gold, predicted, average="weighted"))
    assert json.loads(result.stdout)["score"] == pytest.approx(metrics["f1_macro"])  # score_metrics: [f1_macro]


@pytest.mark.filterwarnings("ignore:.*seems not to be NE tag")  # the seqeval oracle itself, on AspectEmo's tags
@pytest.mark.parametrize("task", ["lepiszcze/kpwr-ner", "lepiszcze/aspectemo"])
def test_score_tagging_macro_f1_matches_seqeval(task: str, tmp_path: Path, cards: dict[str, Path]) -> None:
    from seqeval.metrics import f1_score as seqeval_f1

    card = cards[task]
    train = load_frames(load_task_card(card), DATA, ["train"])["train"]
    gold = [list(t) for t in train["tags"]]
    predicted = [tags[:1] + ["O"] * (len(tags) - 1) if i % 2 else list(tags) for i, tags in enumerate(gold)]
    file = _predictions(tmp_path / "p.jsonl", list(zip(train["id"], predicted)))
    result = invoke("score", card, file, "--data-dir", DATA, "--split", "train", "--json", "--resamples", "0")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["seqeval_f1_macro"] == pytest.approx(seqeval_f1(gold, predicted, average="macro"))
    assert metrics["seqeval_f1"] == pytest.approx(seqeval_f1(gold, predicted))
    assert "seems not to be NE tag" not in result.output  # AspectEmo's prefix-less tags are meant


# ---------------------------------------------------------------------------------------------------------------
# run and release


def test_run_then_release_writes_the_lepiszcze_result_files(tiny_model: Path, tmp_path: Path, cards: dict[str, Path],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A classification task with a validation split, one whose dev is carved from train, and a tagging task; two
    seeds. Runs select on dev and report test; the release writes one LEPISZCZE JSON per (dataset, model)."""
    monkeypatch.chdir(next(iter(cards.values())).parent.parent.parent)  # the working folder with tasks/lepiszcze
    out = tmp_path / "results"
    tasks = ["lepiszcze/polemo2-official", "lepiszcze/psc", "lepiszcze/political-ads"]
    result = invoke("run", "lepiszcze", *[a for t in tasks for a in ("--task", t)], "--data-dir", DATA,
                    "--model", tiny_model, "--seeds", "1,2", "--set", "epochs=1", "--set", "bootstrap_resamples=0",
                    "--set", "max_length=64", "--out", out, "--quiet")
    assert result.exit_code == 0, result.output
    # the tiny model has MiniLM's uncased English tokenizer: one warning per task, before the grid
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning: model: ")]
    assert [line.split(" (pol-Latn)")[0] for line in warned] == [f"warning: model: {t}" for t in tasks]
    assert "the tokenizer of " + str(tiny_model) + " changes" in warned[0]
    records = {}
    for path in out.glob("runs/**/record.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        records[(record["task"]["id"], record["seed"])] = record
    assert len(records) == 6
    for (task, _), record in records.items():
        assert set(record["results"]) == {"test"} and set(record["dev_results"]) == {"dev"}
        assert record["selection"]["split"] == "dev"  # LEPISZCZE selects on dev and reports test
        primary = "f1_macro" if CARDS[task][2] == "class" else "seqeval_f1_macro"
        assert record["score"] == pytest.approx(record["results"]["test"]["metrics"][primary])
        assert record["provenance"]["data"]["test"]["file"] == f"{CARDS[task][0]}:test"
    psc = records[("lepiszcze/psc", 1)]
    assert psc["provenance"]["derived"]["dev"]["seed"] == 441

    release = invoke("release", "lepiszcze", "--version", "1.0.0", "--runs", out, "--data-dir", DATA,
                     "--resamples", "0")
    assert release.exit_code == 0, release.output
    folder = out / "releases" / "lepiszcze" / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    (submission,) = manifest["submissions"]
    with zipfile.ZipFile(folder / submission["archive"]) as archive:
        files = {name: json.loads(archive.read(name)) for name in archive.namelist()}
    model = tiny_model.name
    assert sorted(files) == sorted(f"{d}_{model}.json" for d in ("polemo2", "psc", "political_advertising"))
    psc_json = files[f"psc_{model}.json"]
    required = {"submission_name", "dataset_name", "dataset_version", "embedding_name", "leaderboard_task_name",
                "metrics", "metrics_avg", "metrics_std", "averaged_over"}
    assert required <= set(psc_json)
    assert psc_json["dataset_name"] == "allegro/klej-psc" and psc_json["dataset_version"] == PINNED["lepiszcze/psc"]
    assert psc_json["leaderboard_task_name"] == "Paraphrase Classification" and psc_json["averaged_over"] == 2
    values = [records[("lepiszcze/psc", s)]["results"]["test"]["metrics"]["f1_macro"] for s in (1, 2)]
    assert [m["f1_macro"] for m in psc_json["metrics"]] == values
    assert psc_json["metrics_avg"]["f1_macro"] == pytest.approx(statistics.fmean(values))
    assert psc_json["metrics_std"]["f1_macro"] == pytest.approx(statistics.stdev(values))
    # the suite score: LEPISZCZE's mean over datasets of macro-F1 (partial: 3 of 13 datasets ran)
    (entry,) = manifest["entries"]
    means = [statistics.fmean(records[(t, s)]["score"] for s in (1, 2)) for t in tasks]
    assert entry["suite_score"] == pytest.approx(statistics.fmean(means))
    datasheet = (folder / "datasheet.md").read_text(encoding="utf-8")
    assert "Kocoń, Miłkowski and Zaśko-Zielińska" in datasheet  # Polish text as written


def test_tokens_and_tags_of_different_lengths(tmp_path: Path, cards: dict[str, Path]) -> None:
    import datasets

    root = tmp_path / "data"
    for split in ("train", "test"):
        data = datasets.Dataset.from_parquet(str(DATA / f"clarin-pl/aspectemo/1.0/{split}/0000.parquet"))
        if split == "test":  # the second test sentence loses its last tag
            data = data.map(lambda row, i: {"labels": row["labels"][:-1] if i == 1 else row["labels"]},
                            with_indices=True)
        target = root / f"clarin-pl/aspectemo/1.0/{split}/0000.parquet"
        target.parent.mkdir(parents=True, exist_ok=True)
        data.to_parquet(str(target))
    errors = one_line_errors(invoke("validate", cards["lepiszcze/aspectemo"], "--data-dir", root))
    assert errors == [f"error: {root / 'clarin-pl/aspectemo'} row 1: labels: tokens and tags differ in length "
                      "(hint: every token needs exactly one tag)"]
