"""Bad inputs through the CLI, as a user runs it: each gets its exact one-line message(s), exit code 2, no traceback.

Every case runs ``python -m benchkit.cli ...`` in a process of its own, in its own folder (cards there are passed
by path, so the built-in cards are still the ones found by id). ``{dir}`` in an expected line stands for the case
folder: card paths are printed resolved, data paths as given on the command line.

Starting ~50 interpreters that each import pandas and pandera costs more than this file may take, so one launcher
process imports them once and forks a child per case; the child runs the module exactly as ``python -m`` does
(``runpy.run_module(..., run_name="__main__")``) with its own cwd, argv, stdout and stderr, and its exit status is
the case's exit code. ``test_launcher_matches_a_fresh_interpreter`` checks that this gives the same result as a
plain ``python -m benchkit.cli`` and as the ``benchkit`` console script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

# one pytest-xdist worker runs this module's tests, so its module fixtures are built once
pytestmark = pytest.mark.xdist_group("bad-inputs")

CARD = """\
id: test/sst
version: 1.0.0
name: Test
description: A card for the bad-input tests.
language: eng-Latn
license: test
citation: test
homepage: https://example.org/
type: single_text_classification
source: {format: tsv, dir: D}
fields: {text: sentence, label: label}
labels: {names: [negative, positive], map: {0: negative, 1: positive}}
splits:
  train: {file: train.tsv}
  dev: {file: dev.tsv}
metrics: [accuracy]
primary_metric: accuracy
"""


def edit(text: str, old: str, new: str, *more: str) -> str:
    """Replace ``old`` by ``new`` (then each further pair), failing loudly when a text is not there."""
    assert old in text, old
    text = text.replace(old, new)
    return edit(text, *more) if more else text


REGRESSION_CARD = edit(
    CARD, "id: test/sst", "id: test/sts", "type: single_text_classification", "type: regression", "dir: D", "dir: R",
    "fields: {text: sentence, label: label}",
    "fields: {id: index, text: sentence1, text_pair: sentence2, label: score}",
    "labels: {names: [negative, positive], map: {0: negative, 1: positive}}", "value_range: [0.0, 5.0]",
    "metrics: [accuracy]\nprimary_metric: accuracy", "metrics: [pearson]\nprimary_metric: pearson")

JSONL_CARD = edit(
    CARD, "id: test/sst", "id: test/boolq", "type: single_text_classification", "type: text_pair_classification",
    "source: {format: tsv, dir: D}", "source: {format: jsonl, dir: J}",
    "fields: {text: sentence, label: label}", "fields: {id: idx, text: question, text_pair: passage, label: label}",
    "labels: {names: [negative, positive], map: {0: negative, 1: positive}}",
    'labels: {names: ["False", "True"], map: {false: "False", true: "True"}}',
    "train.tsv", "train.jsonl", "dev.tsv", "dev.jsonl")

TRAIN = "sentence\tlabel\nit is good\t1\nit is bad\t0\n"
DEV = "sentence\tlabel\nfine film\t1\nawful film\t0\n"
STS_TRAIN = "index\tsentence1\tsentence2\tscore\n0\ta man\ta person\t4.2\n1\ta cat\ta dog\t1.0\n"

DATA_HINT_LABEL = "if it is an official label, add it to labels.names (or labels.map)"
ADD_FIELD = "add it to the card (see tasks/glue/sst2.yaml for a complete example)"
YAML_HINT = "check indentation, colons and quotes around this line"
RAGGED_HINT = "fields are separated by a tab with quoting 'none'; a stray separator or quote splits or merges fields"
MISSING_HINT = "download the official files into --data-dir in the official layout"


@dataclass
class Case:
    args: list[str]
    files: dict[str, str | bytes | None]  # path -> text or bytes; None makes a directory
    stderr: list[str]
    code: int = 2
    summary: str | None = None  # the last stdout line of 'validate'


def validate(card: str = CARD, *, data: dict[str, str | bytes | None] | None = None, stderr: list[str],
             code: int = 2, summary: str | None = None, extra: tuple[str, ...] = ()) -> Case:
    """``benchkit validate card.yaml [--data-dir data]``; data paths are relative to data/."""
    args = ["validate", "card.yaml"]
    files: dict[str, str | bytes | None] = {"card.yaml": card}
    if data is not None:
        args += ["--data-dir", "data", *extra]
        files.update({f"data/{path}": content for path, content in data.items()})
    return Case(args, files, stderr, code, summary)


def sst_data(**files: str | bytes | None) -> dict[str, str | bytes | None]:
    data: dict[str, str | bytes | None] = {"D/train.tsv": TRAIN, "D/dev.tsv": DEV}
    data.update({f"D/{name.replace('_', '.')}": content for name, content in files.items()})
    return {k: v for k, v in data.items() if v != "<absent>"}


CARD_CASES: dict[str, Case] = {
    "unknown field with did-you-mean": validate(
        edit(CARD, "primary_metric:", "primary_metirc:"),
        stderr=["error: {dir}/card.yaml:17: primary_metirc: unknown field 'primary_metirc' "
                "(hint: did you mean 'primary_metric'?)"]),
    "unknown nested field": validate(
        edit(CARD, "train: {file: train.tsv}", "train: {flie: train.tsv}"),
        stderr=["error: {dir}/card.yaml:14: splits.train.flie: unknown field 'flie' (hint: did you mean 'file'?)"]),
    "unknown field without a close match": validate(
        CARD + "maintainer: me\n",
        stderr=["error: {dir}/card.yaml:18: maintainer: unknown field 'maintainer' (hint: allowed fields here: id, "
                "version, name, description, language, license, citation, homepage, type, source, fields, labels, "
                "value_range, splits, metrics, primary_metric, score_metrics, entity_spans, inputs, lists, evaluated_with, checks, "
                "prompt)"]),
    "missing field": validate(
        edit(CARD, "license: test\n", ""),
        stderr=[f"error: {{dir}}/card.yaml: license: missing required field 'license' (hint: {ADD_FIELD})"]),
    "missing nested field": validate(
        edit(CARD, "labels: {names: [negative, positive], map: {0: negative, 1: positive}}", "labels: {}"),
        stderr=[f"error: {{dir}}/card.yaml:12: labels.names: missing required field 'names' (hint: {ADD_FIELD})"]),
    "wrong type": validate(
        edit(CARD, "train: {file: train.tsv}", "train: {file: train.tsv, rows: abc}"),
        stderr=["error: {dir}/card.yaml:14: splits.train.rows: input should be a valid integer, unable to parse "
                "string as an integer, got 'abc'"]),
    "unknown task type": validate(
        edit(CARD, "type: single_text_classification", "type: single_text_clasification"),
        stderr=["error: {dir}/card.yaml:9: type: unknown task type 'single_text_clasification'; expected one of: "
                "candidate_choice, grouped_classification, multiple_choice, regression, single_text_classification, "
                "span_classification, text_pair_classification, "
                "token_classification (hint: did you mean 'single_text_classification'?)"]),
    "unknown format": validate(
        edit(CARD, "format: tsv", "format: tvs"),
        stderr=["error: {dir}/card.yaml:10: source.format: unknown format 'tvs'; expected one of: conll, csv, hub, "
                "json, jsonl, parquet, tsv (hint: did you mean 'tsv'?)"]),
    "unknown metric": validate(
        edit(CARD, "metrics: [accuracy]", "metrics: [acuracy]"),
        stderr=["error: {dir}/card.yaml:16: metrics[0]: unknown metric 'acuracy'; expected one of: accuracy, "
                "exact_match, f1, f1_macro, f1_micro, f1_weighted, gender_parity, klej_ar_score, mcc, multirc_em, "
                "multirc_f1a, pearson, record_em, record_f1, seqeval_f1, seqeval_f1_macro, seqeval_f1_type, seqeval_f1_weighted, "
                "seqeval_precision, seqeval_precision_macro, seqeval_precision_weighted, seqeval_recall, "
                "seqeval_recall_macro, seqeval_recall_weighted, spearman (hint: did you mean 'accuracy'?)"]),
    "misspelt metric option": validate(
        edit(CARD, "metrics: [accuracy]", "metrics: [accuracy, {name: f1, positiv_label: positive}]"),
        stderr=["error: {dir}/card.yaml:16: metrics[1]: metric 'f1' takes no option(s) ['positiv_label'] "
                "(hint: did you mean 'positive_label'?)"]),
    "primary metric not among the metrics": validate(
        edit(CARD, "primary_metric: accuracy", "primary_metric: acc"),
        stderr=["error: {dir}/card.yaml:17: primary_metric: primary_metric 'acc' is not among the card's metrics "
                "['accuracy'] (hint: name one of the metrics listed under metrics:)"]),
    "bad language code": validate(
        edit(CARD, "language: eng-Latn", "language: en"),
        stderr=["error: {dir}/card.yaml:5: language: 'en' is not an ISO 639-3 code with a script (hint: write e.g. "
                "eng-Latn, pol-Latn, rus-Cyrl (ISO 639-3 code, '-', ISO 15924 script))"]),
    "duplicate YAML key": validate(
        CARD + "name: Again\n",
        stderr=["error: {dir}/card.yaml:18: duplicate key 'name' (first on line 3) "
                "(hint: a key may appear once per mapping)"]),
    "extends a missing file": validate(
        "extends: _base.yaml\n" + CARD,
        stderr=["error: {dir}/card.yaml:1: extends: '_base.yaml' not found "
                "(hint: the path is relative to the card: looked for {dir}/_base.yaml)"]),
    "extends a directory": Case(
        ["validate", "card.yaml"], {"card.yaml": "extends: base\n" + CARD, "base": None},
        ["error: {dir}/card.yaml:1: extends: 'base' is a directory, expected a card file "
         "(hint: name the .yaml file inside {dir}/base)"]),
    "a delimiter longer than one character": validate(
        edit(CARD, "source: {format: tsv, dir: D}", "source: {format: tsv, dir: D, read: {delimiter: '::'}}"),
        stderr=["error: {dir}/card.yaml:10: source.read.delimiter: '::' is not a single character "
                "(hint: e.g. delimiter: \"\\t\" or quotechar: \"'\")"]),
    "value_range the wrong way round": validate(
        edit(REGRESSION_CARD, "value_range: [0.0, 5.0]", "value_range: [5, 0]"),
        stderr=["error: {dir}/card.yaml:12: value_range: value_range [5.0, 0.0] is not [min, max] with min < max "
                "(hint: e.g. value_range: [0.0, 5.0])"]),
    "several card errors at once": validate(
        edit(CARD, "language: eng-Latn", "language: english", "version: 1.0.0", "version: 1.0"),
        stderr=["error: {dir}/card.yaml:2: version: input should be a valid string, got 1.0 "
                "(hint: YAML reads this value as a number; quote it)",
                "error: {dir}/card.yaml:5: language: 'english' is not an ISO 639-3 code with a script (hint: write "
                "e.g. eng-Latn, pol-Latn, rus-Cyrl (ISO 639-3 code, '-', ISO 15924 script))"]),
    "suite pins a wrong task version": Case(
        ["validate", "suite.yaml"],
        {"suite.yaml": "id: mini\nversion: 1.0.0\nname: Mini\ndescription: Two GLUE tasks.\nlanguages: [eng-Latn]\n"
                       "tasks:\n  - {id: glue/sst2, version: 1.0.0}\n  - id: glue/cola\n    version: 1.1.0\n"
                       "score_rule: glue\n"},
        ["error: {dir}/suite.yaml:9: tasks[1].version: suite pins glue/cola 1.1.0, but its card is version 1.0.0 "
         "(hint: pin the card's version in the suite, or restore the pinned card)"]),
}

YAML_CASES: dict[str, Case] = {
    "malformed YAML": validate(
        edit(CARD, "fields: {text: sentence, label: label}", "fields: {text: sentence, label: label"),
        stderr=["error: {dir}/card.yaml:12: malformed YAML: while parsing a flow mapping started on line 11: "
                f"expected ',' or '}}', but got ':' (hint: {YAML_HINT})"]),
    "bad indentation": validate(
        edit(CARD, "name: Test", "name: Test\n  extra: indented"),
        stderr=["error: {dir}/card.yaml:4: malformed YAML: mapping values are not allowed here "
                f"(hint: {YAML_HINT})"]),
    "empty file": validate(
        "", stderr=["error: {dir}/card.yaml: empty card: the file holds no YAML "
                    "(hint: see tasks/glue/sst2.yaml for a complete task card)"]),
    "only comments": validate(
        "# a card\n\n# to be written\n",
        stderr=["error: {dir}/card.yaml: empty card: the file holds only comments "
                "(hint: see tasks/glue/sst2.yaml for a complete task card)"]),
    "a list, not a mapping": validate(
        "- id: test/sst\n- version: 1.0.0\n",
        stderr=["error: {dir}/card.yaml:1: expected a mapping of fields at the top level, found a sequence "
                "(hint: a card is 'key: value' lines)"]),
    "latin-1 bytes": validate(
        edit(CARD, "name: Test", "name: Caf\u00e9").encode("latin-1"),
        stderr=["error: {dir}/card.yaml:3: not UTF-8: cannot decode byte 0xe9 (hint: save the card as UTF-8)"]),
    "a directory named like a card": Case(
        ["validate", "card.yaml"], {"card.yaml": None},
        ["error: {dir}/card.yaml: is a directory, expected a YAML card (hint: name the .yaml file)"]),
    "a directory of cards": Case(
        ["validate", "cards"], {"cards/sst.yaml": CARD},
        ["error: cards: is a directory, expected a YAML card (hint: name a card file inside it, e.g. sst.yaml)"]),
    "a card path that does not exist": Case(
        ["validate", "nothere.yaml"], {},
        ["error: {dir}/nothere.yaml: card not found (hint: run 'benchkit ls' to list the built-in cards)"]),
}

DATA_CASES: dict[str, Case] = {
    "missing column": validate(
        edit(CARD, "label: label}", "label: labels}"), data=sst_data(),
        stderr=["error: data/D/train.tsv: fields.label: column 'labels' (fields.label) not found; the file has "
                "['sentence', 'label'] (hint: did you mean 'label'?)",
                "error: data/D/dev.tsv: fields.label: column 'labels' (fields.label) not found; the file has "
                "['sentence', 'label'] (hint: did you mean 'label'?)"],
        summary="checked 1 task(s), cards and data: 2 error(s), 0 warning(s)"),
    "label outside the label set": validate(
        data=sst_data(dev_tsv="sentence\tlabel\nfine film\t1\nawful film\t2\n"),
        stderr=[f"error: data/D/dev.tsv:3: label: label '2' is not one of ['0', '1'] (hint: {DATA_HINT_LABEL})"],
        summary="checked 1 task(s), cards and data: 1 error(s), 0 warning(s)"),
    "empty and whitespace-only text": validate(
        data=sst_data(dev_tsv="sentence\tlabel\n\t1\n \t0\nfine\t1\n"),
        stderr=["error: data/D/dev.tsv:2: sentence: empty or whitespace-only text '' "
                "(hint: fill in the text or drop the row)",
                "error: data/D/dev.tsv:3: sentence: empty or whitespace-only text ' ' "
                "(hint: fill in the text or drop the row)"]),
    "non-numeric regression target": validate(
        REGRESSION_CARD,
        data={"R/train.tsv": STS_TRAIN,
              "R/dev.tsv": "index\tsentence1\tsentence2\tscore\n0\tx\ty\thigh\n1\tu\tv\tnan\n"},
        stderr=["error: data/R/dev.tsv:2: score: expected a number, found 'high' "
                "(hint: regression targets are numbers such as 3.8)",
                "error: data/R/dev.tsv:3: score: expected a number, found 'nan' "
                "(hint: regression targets are numbers such as 3.8)"]),
    "value out of value_range": validate(
        REGRESSION_CARD,
        data={"R/train.tsv": STS_TRAIN,
              "R/dev.tsv": "index\tsentence1\tsentence2\tscore\n0\tx\ty\t5.5\n1\tu\tv\t-0.1\n"},
        stderr=["error: data/R/dev.tsv:2: score: '5.5' is outside value_range [0.0, 5.0] "
                "(hint: fix the value or the card's value_range)",
                "error: data/R/dev.tsv:3: score: '-0.1' is outside value_range [0.0, 5.0] "
                "(hint: fix the value or the card's value_range)"]),
    "duplicate ids": validate(
        REGRESSION_CARD,
        data={"R/train.tsv": STS_TRAIN,
              "R/dev.tsv": "index\tsentence1\tsentence2\tscore\n7\tx\ty\t1\n8\tu\tv\t2\n7\tp\tq\t3\n7\tr\ts\t4\n"},
        stderr=["error: data/R/dev.tsv:4: index: duplicate id '7' (hint: ids must be unique within a split; "
                "first seen on line 2)",
                "error: data/R/dev.tsv:5: index: duplicate id '7' (hint: ids must be unique within a split; "
                "first seen on line 2)"]),
    "leakage": validate(
        data=sst_data(dev_tsv="sentence\tlabel\nfine film\t1\nit  is   bad\t0\n"),
        stderr=["error: data/D/dev.tsv:3: leakage: the same input is in train (line 3) (hint: remove it from one "
                "split, or set checks.leakage in the card if the benchmark keeps it)"],
        summary="checked 1 task(s), cards and data: 1 error(s), 0 warning(s)"),
    "row count differs from the card": validate(
        edit(CARD, "dev: {file: dev.tsv}", "dev: {file: dev.tsv, rows: 3}"), data=sst_data(),
        stderr=["error: data/D/dev.tsv: splits.dev.rows: expected 3 rows, found 2 (hint: the file may be truncated, "
                "modified or another version of the dataset)"]),
    "row count of a derived split differs from the card": validate(
        edit(CARD, "dev: {file: dev.tsv}", "dev: {derive: {from: train, fraction: 0.2}, rows: 3}"),
        data={"D/train.tsv": "sentence\tlabel\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(10))},
        stderr=["error: data/D/train.tsv: splits.dev.rows: expected 3 rows, found 2 carved from train (hint: a derived "
                "split takes round(fraction x size) rows (per label when stratified); fix rows or derive.fraction)"],
        summary="checked 1 task(s), cards and data: 1 error(s), 0 warning(s)"),
    "ragged TSV row": validate(
        data=sst_data(dev_tsv="sentence\tlabel\nfine film\t1\nawful\tfilm\t0\nok\t1\n"),
        stderr=[f"error: data/D/dev.tsv:3: ragged row: expected 2 fields, found 3 (hint: {RAGGED_HINT})"]),
    "wrong encoding in a data file": validate(
        data=sst_data(dev_tsv="sentence\tlabel\nfine film\t1\nna\u00efve film\t0\n".encode("latin-1")),
        stderr=["error: data/D/dev.tsv:3: read.encoding: cannot decode byte 0xef as utf-8 "
                "(hint: re-save the file as UTF-8 or set read.encoding in the card "
                "(e.g. cp1250 or iso8859-2 for a legacy Central European file))"]),
    "missing split file": validate(
        data=sst_data(dev_tsv="<absent>"), code=0,
        stderr=[f"warning: data/D: test/sst: missing data: dev (dev.tsv) not found (hint: {MISSING_HINT}; "
                "missing data fails validation only with --strict)"],
        summary="checked 1 task(s), cards and data: 0 error(s), 1 warning(s)"),
    "missing split file with --strict": validate(
        data=sst_data(dev_tsv="<absent>"), extra=("--strict",),
        stderr=[f"error: data/D: test/sst: missing data: dev (dev.tsv) not found (hint: {MISSING_HINT})"],
        summary="checked 1 task(s), cards and data: 1 error(s), 0 warning(s)"),
    "a directory in place of a split file": validate(
        data=sst_data(dev_tsv=None),
        stderr=["error: data/D/dev.tsv: is a directory, expected a file "
                "(hint: point the split's 'file' at the data file inside it)"]),
    "an empty data file": validate(
        data=sst_data(dev_tsv=""),
        stderr=["error: data/D/dev.tsv: file is empty: no header and no rows "
                "(hint: check that the download completed)"]),
    "a header and no rows": validate(
        data=sst_data(dev_tsv="sentence\tlabel\n"),
        stderr=["error: data/D/dev.tsv: no data rows (hint: a header alone is not data; check that the download "
                "completed)"]),
    "malformed CSV": validate(
        edit(CARD, "format: tsv", "format: csv", "train.tsv", "train.csv", "dev.tsv", "dev.csv"),
        data={"D/train.csv": "sentence,label\nit is good,1\n",
              "D/dev.csv": 'sentence,label\nok,1\n"never closed,0\nx,1\n'},
        stderr=["error: data/D/dev.csv:3: malformed CSV: unexpected end of data (hint: check read.quoting and "
                "read.quotechar; a quoted field may be unclosed)"]),
    "invalid JSON lines": validate(
        JSONL_CARD,
        data={"J/train.jsonl": '{"idx": 0, "question": "q", "passage": "p", "label": true}\n',
              "J/dev.jsonl": '{"idx": 0, "question": "q", "passage": "p", "label": false}\n'
                             '{"idx": 1, "question": "q", "passage": "p", "label": tru}\n'
                             '\n'
                             '["idx", 2]\n'
                             '{"idx": [3], "question": "q", "passage": "p", "label": false}\n'},
        stderr=["error: data/J/dev.jsonl:2: invalid JSON: Expecting value at column 54 "
                "(hint: each line must hold one complete JSON object)",
                "error: data/J/dev.jsonl:4: expected a JSON object, found list "
                "(hint: JSON Lines files hold one object per line)",
                "error: data/J/dev.jsonl:5: idx: expected an id (text or a number), found list [3] "
                "(hint: ids are scalar values)"]),
    "every bad row is reported": validate(
        data=sst_data(dev_tsv="sentence\tlabel\na\t5\nb\t1\n\t1\nc\tpositive\nd\t0\n\t-1\n"),
        stderr=["error: data/D/dev.tsv:4: sentence: empty or whitespace-only text '' "
                "(hint: fill in the text or drop the row)",
                "error: data/D/dev.tsv:7: sentence: empty or whitespace-only text '' "
                "(hint: fill in the text or drop the row)",
                f"error: data/D/dev.tsv:2: label: label '5' is not one of ['0', '1'] (hint: {DATA_HINT_LABEL})",
                f"error: data/D/dev.tsv:5: label: label 'positive' is not one of ['0', '1'] (hint: {DATA_HINT_LABEL})",
                "error: data/D/dev.tsv:7: label: label '-1' is not one of ['0', '1'] (hint: did you mean '1'?)"],
        summary="checked 1 task(s), cards and data: 5 error(s), 0 warning(s)"),
    "problems in several files": validate(
        data=sst_data(train_tsv="sentence\tlabel\ngood\t1\nbad\tx\n",
                      dev_tsv="sentence\tlabel\nfine\t1\nawful\t0\textra\n"),
        stderr=[f"error: data/D/train.tsv:3: label: label 'x' is not one of ['0', '1'] (hint: {DATA_HINT_LABEL})",
                f"error: data/D/dev.tsv:3: ragged row: expected 2 fields, found 3 (hint: {RAGGED_HINT})"],
        summary="checked 1 task(s), cards and data: 2 error(s), 0 warning(s)"),
    "more rows than --max-per-check": validate(
        data=sst_data(dev_tsv="sentence\tlabel\n" + "".join(f"s{i}\t9\n" for i in range(5))),
        extra=("--max-per-check", "2"),
        stderr=[f"error: data/D/dev.tsv:2: label: label '9' is not one of ['0', '1'] (hint: {DATA_HINT_LABEL})",
                f"error: data/D/dev.tsv:3: label: label '9' is not one of ['0', '1'] (hint: {DATA_HINT_LABEL})",
                "error: data/D/dev.tsv: label: ... and 3 more rows failing the same check (valid_class)"]),
    "a data directory that does not exist": Case(
        ["validate", "card.yaml", "--data-dir", "nowhere"], {"card.yaml": CARD},
        ["error: nowhere: data directory not found (hint: pass the folder that holds the task folders "
         "(e.g. CoLA/, SST-2/))"]),
}

CASES = {**CARD_CASES, **YAML_CASES, **DATA_CASES}


LAUNCHER = r"""
import json, os, runpy, sys, traceback
os.environ.pop("BENCHKIT_DEBUG", None)
import benchkit.cards.catalog, benchkit.validation.runner, click, pandas, pandera.pandas  # warm-up; not benchkit.cli
codes = {}
for name, folder, args, out, err in json.load(sys.stdin):
    sys.stdout.flush(); sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(folder)
            os.dup2(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 1)
            os.dup2(os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), 2)
            sys.argv = ["benchkit", *args]
            runpy.run_module("benchkit.cli", run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:  # what the interpreter would print for an uncaught exception
            traceback.print_exc()
        finally:
            sys.stdout.flush(); sys.stderr.flush()
            os._exit(code)
    codes[name] = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
print(json.dumps(codes))
"""


@dataclass
class Result:
    dir: Path
    code: int
    stdout: str
    stderr: str


def _write_files(case_dir: Path, case: Case) -> None:
    for rel, content in case.files.items():
        path = case_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("BENCHKIT_DEBUG", "BENCHKIT_CARD_PATH")}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")  # no threads across fork()
    return env


def _run_fresh(command: list[str], case_dir: Path, case: Case) -> Result:
    proc = subprocess.run([*command, *case.args], cwd=case_dir, env=_env(), capture_output=True, text=True,
                          timeout=120)
    return Result(case_dir.resolve(), proc.returncode, proc.stdout, proc.stderr)


def _run_all(root: Path, cases: dict[str, Case]) -> dict[str, Result]:
    dirs = {name: root / f"case{i}" for i, name in enumerate(cases)}
    for name, case in cases.items():
        dirs[name].mkdir()
        _write_files(dirs[name], case)
    if not hasattr(os, "fork"):  # one fresh interpreter per case
        command = [sys.executable, "-m", "benchkit.cli"]
        return {name: _run_fresh(command, dirs[name], case) for name, case in cases.items()}
    jobs = [[name, str(dirs[name]), case.args, str(root / f"case{i}.out"), str(root / f"case{i}.err")]
            for i, (name, case) in enumerate(cases.items())]
    proc = subprocess.run([sys.executable, "-c", LAUNCHER], input=json.dumps(jobs), env=_env(), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    codes = json.loads(proc.stdout.splitlines()[-1])
    return {name: Result(Path(folder).resolve(), codes[name], Path(out).read_text(encoding="utf-8"),
                         Path(err).read_text(encoding="utf-8")) for name, folder, _, out, err in jobs}


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    return _run_all(tmp_path_factory.mktemp("bad_inputs"), CASES)


def check(case: Case, result: Result) -> None:
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    assert result.stderr.splitlines() == [line.replace("{dir}", str(result.dir)) for line in case.stderr]
    assert result.code == case.code, result.stderr
    if case.summary is not None:
        assert result.stdout.splitlines()[-1] == case.summary


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, results: dict[str, Result]) -> None:
    check(CASES[name], results[name])


@pytest.mark.parametrize("name", ["unknown metric", "every bad row is reported", "missing split file"])
def test_launcher_matches_a_fresh_interpreter(name: str, tmp_path: Path, results: dict[str, Result]) -> None:
    """The same case in a brand-new ``python -m benchkit.cli`` and through the ``benchkit`` console script."""
    case = CASES[name]
    commands = [[sys.executable, "-m", "benchkit.cli"]]
    script = Path(sys.executable).with_name("benchkit")
    if script.is_file():
        commands.append([str(script)])
    for i, command in enumerate(commands):
        case_dir = tmp_path / f"run{i}"
        case_dir.mkdir()
        _write_files(case_dir, case)
        fresh = _run_fresh(command, case_dir, case)
        check(case, fresh)
        launched = results[name]
        assert fresh.stdout.replace(str(fresh.dir), "{dir}") == launched.stdout.replace(str(launched.dir), "{dir}")


def test_every_case_is_distinct() -> None:
    """Guards against a copy-paste case that silently repeats another."""
    keys = [(tuple(c.args), tuple(sorted((k, repr(v)) for k, v in c.files.items()))) for c in CASES.values()]
    assert len(set(keys)) == len(keys)
