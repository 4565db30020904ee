"""Fixes of what a newcomer ran into: each case runs the CLI as a user does (one-line message, exit code 2, no
traceback) or calls the one function at fault; each failed before its fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import REPO
from test_bad_inputs import CARD  # the minimal valid card the bad-input tests break

MINI = REPO / "data" / "glue-mini"
KNOWN_OVERLAP = "a known overlap of the official files, kept as published (the card sets checks.leakage: warning)"


def benchkit(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in ("BENCHKIT_DEBUG", "BENCHKIT_CARD_PATH", "COLUMNS")}
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300, check=False, env={**base, "HF_HUB_OFFLINE": "1", **(env or {})})


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def fake_model(tmp_path: Path) -> Path:
    """A model folder whose weights cannot be loaded: a run that got as far as loading a model would fail otherwise."""
    folder = tmp_path / "fake-model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "model.safetensors").write_text("not weights")
    return folder


# 1. --set values that are not YAML ------------------------------------------------------------------------------

SET_ERROR = ("error: --set: the value of 'epochs' is not valid YAML: '[1' (while parsing a flow sequence: expected ',' "
             "or ']', but got '<stream end>') (hint: give a plain value, e.g. --set epochs=3.0; quote a text value: "
             "--set 'epochs=\"[1\"')")


def test_run_set_value_that_is_not_yaml(tmp_path: Path, fake_model: Path) -> None:
    result = benchkit("run", "--model", str(fake_model), "--set", "epochs=[1", "--out", "out", cwd=tmp_path)
    assert one_line_error(result) == SET_ERROR
    assert "plan:" not in result.stdout and not (tmp_path / "out").exists()  # refused before any run started


def test_dvc_set_value_that_is_not_yaml(tmp_path: Path) -> None:
    result = benchkit("dvc", "glue-mini", "--set", "epochs=[1", cwd=tmp_path)
    assert one_line_error(result) == SET_ERROR
    assert not (tmp_path / "dvc.yaml").exists() and not (tmp_path / "params.yaml").exists()


# 2. recipe files: their own messages, not a card's ------------------------------------------------------------

@pytest.mark.parametrize("content, expected", [
    (None, "error: recipe.yaml: recipe file not found (hint: check the path given to --recipe)"),
    ("- epochs: 3\n", ("error: recipe.yaml:1: expected a mapping of recipe fields at the top level, found a sequence "
                       "(hint: a recipe file is 'field: value' lines, e.g. 'epochs: 3')")),
    ("epochs: [1\n", ("error: recipe.yaml:2: malformed YAML in the recipe file: while parsing a flow sequence started "
                      "on line 1: expected ',' or ']', but got '<stream end>' (hint: check indentation, colons and "
                      "quotes around this line)")),
    ("batch_size: 8\nepochs: three\n", ("error: recipe.yaml:2: epochs: input should be a valid number, unable to "
                                        "parse string as a number, got 'three' (hint: e.g. epochs: 3.0)")),
    ("", ("error: recipe.yaml: empty recipe file: the file holds no YAML (hint: a recipe file holds recipe fields, "
          "e.g. 'epochs: 3')")),
], ids=["missing", "a list", "malformed", "a bad value", "empty"])
def test_recipe_file_messages(tmp_path: Path, fake_model: Path, content: str | None, expected: str) -> None:
    if content is not None:
        (tmp_path / "recipe.yaml").write_text(content)
    result = benchkit("run", "--model", str(fake_model), "--recipe", "recipe.yaml", "--out", "out", cwd=tmp_path)
    assert one_line_error(result) == expected


# 3. a list or a mapping as a mapping key ----------------------------------------------------------------------

KEY_HINT = "(hint: write 'name: value'; quote a key that starts with [ or {)"


@pytest.mark.parametrize("card, expected", [
    (CARD + "? [a, b]\n: 1\n", f"18: a key must be a plain name, found a sequence {KEY_HINT}"),
    (CARD.replace("fields: {text: sentence, label: label}", "fields: {text: sentence, {a: 1}: label}"),
     f"11: a key must be a plain name, found a mapping {KEY_HINT}"),
    (CARD + "checks: {[1, 2]: x}\n", f"18: a key must be a plain name, found a sequence {KEY_HINT}"),
], ids=["explicit sequence key", "flow mapping key", "flow sequence key"])
def test_unhashable_yaml_keys(tmp_path: Path, card: str, expected: str) -> None:
    (tmp_path / "card.yaml").write_text(card)
    assert one_line_error(benchkit("validate", "card.yaml", cwd=tmp_path)) == f"error: {tmp_path}/card.yaml:{expected}"


# 4. derived splits that cannot be carved ----------------------------------------------------------------------

CHAIN = ("  dev: {{file: null, derive: {{from: train_x, fraction: 0.1}}}}\n"  # train_x derives from {}
         "  train_x: {{file: null, derive: {{from: {}, fraction: 0.5}}}}\n")
DERIVE_HINT = "(hint: derive from a split with its own file (or hf_split) and labels present, e.g. from: train)"


@pytest.mark.parametrize("splits, expected", [
    ("  dev: {file: null, derive: {from: dev, fraction: 0.1}}\n",
     "split 'dev' derives from itself"),
    (CHAIN.format("train"),
     "split 'dev' derives from 'train_x', which is itself derived (from 'train')"),
    (CHAIN.format("dev"),
     "split 'dev' derives from 'train_x', which is itself derived (from 'dev')"),
    ("  dev: {file: null, rows: null, derive: {from: test, fraction: 0.1}}\n",
     "split 'dev' derives from 'test', whose labels are hidden"),
], ids=["from itself", "a chain", "a cycle", "hidden labels"])
def test_derived_splits_are_checked_at_load(tmp_path: Path, splits: str, expected: str) -> None:
    card = (REPO / "tasks" / "glue-mini" / "mrpc.yaml").read_text()
    card = card.replace("extends: ../glue/mrpc.yaml", f"extends: {REPO / 'tasks' / 'glue' / 'mrpc.yaml'}")
    assert "  dev: {rows: 205}\n" in card
    path = tmp_path / "mrpc.yaml"
    path.write_text(card.replace("  dev: {rows: 205}\n", splits))
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("  dev:"))
    message = f"error: {path}:{line}: splits.dev.derive.from: {expected} {DERIVE_HINT}"
    (tmp_path / "preds.jsonl").write_text('{"id": 0, "prediction": "equivalent"}\n')
    assert one_line_error(benchkit("validate", str(path), cwd=tmp_path)) == message
    score = benchkit("score", str(path), "preds.jsonl", "--data-dir", str(MINI), "--resamples", "0", cwd=tmp_path)
    assert one_line_error(score) == message


# 5. the transformers floor -------------------------------------------------------------------------------------

def test_train_extra_floors_fit_the_transformers_api_the_loop_uses() -> None:
    from packaging.requirements import Requirement
    from packaging.version import Version

    extra = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["train"]
    floors = {r.name: min(Version(s.version) for s in r.specifier if s.operator == ">=")
              for r in map(Requirement, extra)}
    # TrainingArguments(train_sampling_strategy=...) first appears in transformers 5.2.0 (5.1.0 still has
    # group_by_length); transformers 5.2 declares torch>=2.4 and accelerate>=1.1.0, and its PEFT integration needs
    # peft>=0.18.0.
    assert floors["transformers"] >= Version("5.2") and floors["torch"] >= Version("2.4")
    assert floors["accelerate"] >= Version("1.1") and floors["peft"] >= Version("0.18")
    transformers = pytest.importorskip("transformers")
    fields = transformers.TrainingArguments.__dataclass_fields__
    assert {"train_sampling_strategy", "eval_strategy", "use_cpu", "data_seed"} <= set(fields)
    import inspect

    assert "processing_class" in inspect.signature(transformers.Trainer.__init__).parameters


# 6. models not in the local Hub cache --------------------------------------------------------------------------

def _cache_message(cache: Path, what: str, download: str, folder: str) -> str:
    return (f"--model: Hub model {what} is not in the local Hub cache {cache} (offline: HF_HUB_OFFLINE is set) "
            f"(hint: on a machine with internet run '{download}' and copy {folder} into the local Hub cache {cache}, "
            "or pass a local model folder to --model)")


ROBERTA = ("FacebookAI/roberta-base (revision main, alias roberta-base)", "hf download FacebookAI/roberta-base",
           "models--FacebookAI--roberta-base")


def test_model_not_in_the_offline_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    from benchkit.errors import BenchkitError
    from benchkit.train.models import resolve_model

    cache = tmp_path / "hf" / "hub"
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))  # read by huggingface_hub once, at import
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cases = {"roberta-base": ROBERTA,
             "some-org/some-model@abc123": ("some-org/some-model (revision abc123)",
                                            "hf download some-org/some-model --revision abc123",
                                            "models--some-org--some-model")}
    for spec, (what, download, folder) in cases.items():
        with pytest.raises(BenchkitError) as err:
            resolve_model(spec)
        assert err.value.problems[0].format() == _cache_message(cache, what, download, folder)
    with pytest.raises(BenchkitError) as err:  # a near miss of an alias: suggested, never the name typed
        resolve_model("roberta-bse")
    assert (err.value.problems[0].hint or "").startswith("did you mean 'roberta-base'? if not, on a machine with")
    with pytest.raises(BenchkitError) as err:
        resolve_model("not a model!")
    assert err.value.problems[0].format() == (
        "--model: 'not a model!' is not a valid Hub model id (hint: a model is an alias (albert-base, bert-base-cased, "
        "deberta-v3-xsmall, distilbert-base, distilherbert-base, electra-small, herbert-base, minilm-l12, minilm-l6, "
        "roberta-base, tinybert-4l, xlm-roberta-base), a Hub id org/name[@revision] or a local folder)")


def test_run_with_a_model_not_in_the_offline_cache(tmp_path: Path) -> None:
    env = {"HF_HOME": str(tmp_path / "hf"), "HF_HUB_CACHE": str(tmp_path / "hf" / "hub")}
    result = benchkit("run", "--model", "roberta-base", "--out", "out", cwd=tmp_path, env=env)
    assert one_line_error(result) == "error: " + _cache_message(tmp_path / "hf" / "hub", *ROBERTA)


# 7. show without data, and with a data folder that does not exist --------------------------------------------

def test_show_without_data_says_what_rows_need(tmp_path: Path) -> None:
    result = benchkit("show", "glue/sst2", cwd=tmp_path)
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout.splitlines()[-1] == ("rows and label distribution need the data: pass --data-dir DIR, the "
                                              "folder of the official files (e.g. DIR/SST-2/train.tsv)")
    assert result.stdout.count("label distribution") == 1  # only in that line: no empty columns
    assert "67349" in result.stdout  # the card's expected rows are still shown


def test_show_with_a_missing_data_dir_fails_like_validate(tmp_path: Path) -> None:
    expected = ("error: /nonexistent: data directory not found (hint: pass the folder that holds the task folders "
                "(e.g. CoLA/, SST-2/))")
    assert one_line_error(benchkit("show", "glue/sst2", "--data-dir", "/nonexistent", cwd=tmp_path)) == expected
    assert one_line_error(benchkit("validate", "glue/sst2", "--data-dir", "/nonexistent", cwd=tmp_path)) == expected


# 8. scoring a hidden test split: where its labels are ----------------------------------------------------------

@pytest.mark.parametrize("task, where", [
    ("glue/mrpc", "GLUE keeps the test labels on its server: submit test predictions at https://gluebenchmark.com/"),
    ("glue-mini/mrpc", "glue-mini distributes no test labels and has no submission server"),
])
def test_score_hidden_test_split(tmp_path: Path, task: str, where: str) -> None:
    (tmp_path / "preds.jsonl").write_text('{"id": 0, "prediction": "equivalent"}\n')
    result = benchkit("score", task, "preds.jsonl", "--split", "test", cwd=tmp_path)
    assert one_line_error(result) == (f"error: --split: split 'test' of {task} has hidden labels: nothing to score "
                                      f"against (hint: score dev instead (--split dev); {where})")


# 9. known overlaps of the official files ----------------------------------------------------------------------

def test_leakage_that_the_card_keeps_is_worded_as_known(tmp_path: Path) -> None:
    result = benchkit("validate", "glue-mini/cola", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert f"warning: {MINI}/CoLA/dev.tsv:192: leakage: the same input is in train (line 925) (hint: {KNOWN_OVERLAP})" \
        in lines
    assert lines and all(line.startswith("warning: ") and line.endswith(f"(hint: {KNOWN_OVERLAP})") for line in lines)


# 10. ls in an 80-column terminal -------------------------------------------------------------------------------

def test_ls_at_80_columns_cuts_no_id_or_version(tmp_path: Path) -> None:
    import json

    listing = json.loads(benchkit("ls", "--json", cwd=tmp_path).stdout)
    result = benchkit("ls", cwd=tmp_path, env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    rows = {line.split()[0]: line.split()[1] for line in lines if len(line.split()) > 1}
    for entry in listing["suites"] + listing["tasks"]:
        assert rows.get(entry["id"]) == entry["version"], entry["id"]  # whole id, then its whole version
    for task in listing["tasks"]:
        assert task["type"] in next(line for line in lines if line.startswith(task["id"] + " "))


# 11. run --help: where the tokenization cache is ---------------------------------------------------------------

def test_run_help_puts_the_tokenization_cache_under_cache_dir(tmp_path: Path) -> None:
    text = " ".join(benchkit("run", "--help", cwd=tmp_path).stdout.split())
    assert "--out DIRECTORY Folder for run records, predictions, logs and releases (the tokenization cache is " \
           "--cache-dir)." in text


# 12. dvc.yaml from a second clone depends on the templates its release uses -----------------------------------

def test_dvc_release_stage_depends_on_the_templates_of_the_repository(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "clone"  # a second clone; benchkit itself is still imported from REPO
    for part in ("tasks", "benchmarks", "templates", "data/glue-mini"):
        shutil.copytree(REPO / part, root / part)
    result = benchkit("dvc", "glue-mini", cwd=root)
    assert result.returncode == 0, result.stderr
    release = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]["release"]
    assert "templates" in release["deps"]
    from benchkit.release import templating

    monkeypatch.chdir(root)  # where `dvc repro` runs the release: it renders with the templates it depends on
    assert templating.templates_dir() == (root / "templates").resolve()
    monkeypatch.chdir(tmp_path)  # no templates here: the built-in ones
    assert templating.templates_dir() == REPO / "templates"


# 13. Markdown is escaped for Markdown, HTML for HTML -----------------------------------------------------------

class Anything:
    """Any context value a template reads that a test does not set (the release code keeps adding fields)."""

    def __getattr__(self, name: str) -> Anything:
        return Anything()

    def __getitem__(self, key: Any) -> Anything:
        return Anything()

    def __call__(self, *args: Any, **kwargs: Any) -> Anything:
        return Anything()

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __str__(self) -> str:
        return ""


class Ctx(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> Anything:
        return Anything()


TEXT = "It's <b>bold</b> | fish & chips"


def _render(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **context: Any) -> str:
    """A built-in release template, with every context name it reads that the test does not set as Anything."""
    import jinja2
    import jinja2.meta

    from benchkit.release.templating import render, templates_dir

    monkeypatch.chdir(tmp_path)  # no templates/ here: the built-in ones
    env = jinja2.Environment()
    env.filters["md"] = str
    names = jinja2.meta.find_undeclared_variables(env.parse((templates_dir() / name).read_text()))
    return render(name, **{**{k: Anything() for k in names}, **context})


def test_datasheet_markdown_is_not_html_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    split = Ctx(name="dev", labels="present", rows=1, distribution="a | b <i>", file="f", sha256="s")
    task = Ctx(id="x/y", version="1.0.0", name="T", description=TEXT, license="sources' licences & more",
               scored=True, splits=[split])
    sheet = _render("datasheet.md.j2", monkeypatch, tmp_path, suite=Ctx(name="S", description=TEXT, citation=""),
                    tasks=[task]).splitlines()
    assert "It's &lt;b&gt;bold&lt;/b&gt; | fish & chips" in sheet  # no tag, apostrophe and & as written
    assert "- Licence: sources' licences & more" in sheet
    assert any(line.startswith("| dev | present | 1 | a \\| b &lt;i&gt; | f |") for line in sheet)
    assert not any("&#39;" in line or "&amp;" in line or "<b>" in line for line in sheet)


def test_leaderboard_html_is_still_escaped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    html = _render("leaderboard.html.j2", monkeypatch, tmp_path, suite=Ctx(name=TEXT, description=TEXT), tasks=[])
    assert "It&#39;s &lt;b&gt;bold&lt;/b&gt; | fish &amp; chips" in html and "<b>bold" not in html
