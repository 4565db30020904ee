"""Build the embedded default data (data/glue-mini) from the real GLUE files, reproducibly.

Usage: python scripts/make_glue_mini.py --glue ../shared/data/glue --out data/glue-mini
       python scripts/make_glue_mini.py --glue ../shared/data/glue --out data/glue-mini --private-labels DIR

The second form writes nothing into --out: it recovers the hidden test labels from the official dev files (through
selection.json) and writes DIR/<task>/test.tsv, the test file with the card's label column appended: the private
labels 'benchkit submissions score glue-mini ARCHIVE --labels DIR' scores against.

For each task: a random sample of the official train file (seed 0, kept in file order) becomes train.tsv; the
official dev file is split in two, stratified by label, into dev.tsv (same layout as the official dev file) and
test.tsv (the official *test* layout: an `index` column, no label). selection.json records, per output file,
the 1-based source lines it holds, so every row can be traced and the hidden test labels recovered.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sys
from pathlib import Path
from typing import Any

from benchkit.errors import BenchkitError, Problem

# task folder -> (train rows, header?, label column, test columns (from the dev header) or None for CoLA)
TASKS = {
    "SST-2": (1500, True, 1),
    "CoLA": (1500, False, 1),
    "MRPC": (1000, True, 0),
    "STS-B": (1000, True, 9),
}
TEST_HEADERS = {
    "SST-2": ["index", "sentence"],
    "CoLA": ["index", "sentence"],
    "MRPC": ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"],
    "STS-B": ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"],
}


def lines_of(path: Path) -> tuple[bytes, list[tuple[int, str]]]:
    raw = path.read_bytes()
    bom = b"\xef\xbb\xbf" if raw.startswith(b"\xef\xbb\xbf") else b""
    text = raw[len(bom):].decode("utf-8")
    return bom, [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line]


def write(path: Path, bom: bytes, lines: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bom + ("\n".join(lines) + "\n").encode("utf-8"))


# the label column of each task's card (tasks/glue/*.yaml) and its index in the official dev file
LABEL_COLUMNS = {"SST-2": "label", "CoLA": "label", "MRPC": "Quality", "STS-B": "score"}


def write_private_labels(glue: Path, mini: Path, out: Path) -> None:
    """``out/<task>/test.tsv``: glue-mini's test file with its label column, recovered from the official dev file
    at the source lines selection.json records (checked against both files' sha256)."""
    selection = read_selection(mini)
    for task, (_, _, label_col) in TASKS.items():
        entry = selection.get(f"{task}/test.tsv")
        if not isinstance(entry, dict):
            raise BenchkitError(Problem(f"no entry for {task}/test.tsv", file=str(mini / "selection.json"),
                                        hint="rebuild the folder with this script (without --private-labels)"))
        source = glue / task / "dev.tsv"
        require_files([source, mini / task / "test.tsv"], glue)
        for path, digest in ((source, entry["source_sha256"]), (mini / task / "test.tsv", entry["sha256"])):
            if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                raise BenchkitError(Problem("not the file selection.json records (sha256 differs)", file=str(path),
                                            hint="use the GLUE files and the glue-mini folder it was built from"))
        _, dev = lines_of(source)
        by_number = dict(dev)
        bom, test = lines_of(mini / task / "test.tsv")
        labels = [by_number[n].split("\t")[label_col] for n in entry["source_lines"]]
        rows = [f"{test[0][1]}\t{LABEL_COLUMNS[task]}"] + [f"{line}\t{label}" for (_, line), label in zip(test[1:], labels)]
        write(out / task / "test.tsv", bom, rows)
        print(f"{task}/test.tsv {len(labels):>5} labels -> {out / task / 'test.tsv'}")


def read_selection(mini: Path) -> dict[str, Any]:
    path = mini / "selection.json"
    build = f"python scripts/make_glue_mini.py --glue GLUE_DIR --out {mini}"
    if not path.is_file():
        raise BenchkitError(Problem("selection.json not found: --out must be a glue-mini folder this script built",
                                    file=str(path), hint=f"pass --out data/glue-mini, or build {mini} first: {build}"))
    try:
        selection = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeError) as err:
        raise BenchkitError(Problem(f"not valid JSON ({err})", file=str(path), hint=f"rebuild it: {build}")) from None
    if not isinstance(selection, dict):
        raise BenchkitError(Problem("expected an object of output files", file=str(path), hint=f"rebuild it: {build}"))
    return selection


def require_files(paths: list[Path], glue: Path) -> None:
    """The first missing input file as one problem: --glue names the folder of the official GLUE download."""
    for path in paths:
        if not path.is_file():
            raise BenchkitError(Problem("file not found", file=str(path),
                                        hint=f"--glue is the folder of the official GLUE download (holding "
                                             f"{', '.join(f'{t}/' for t in TASKS)}), e.g. ../shared/data/glue; "
                                             f"given: {glue}"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--glue", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--private-labels", type=Path, help="write the labelled test files here (see above)")
    args = parser.parse_args()
    try:
        if args.private_labels is not None:
            write_private_labels(args.glue, args.out, args.private_labels)
        else:
            build(args)
    except BenchkitError as err:  # bad input: one line each, exit 2, as benchkit's commands do
        for problem in err.problems:
            print(f"error: {problem.format()}", file=sys.stderr)
        sys.exit(2)


def build(args: argparse.Namespace) -> None:
    require_files([args.glue / task / name for task in TASKS for name in ("train.tsv", "dev.tsv")], args.glue)
    selection: dict[str, dict] = {}
    for task, (train_rows, header, label_col) in TASKS.items():
        rng = random.Random(0)
        bom, train = lines_of(args.glue / task / "train.tsv")
        head, body = (train[:1], train[1:]) if header else ([], train)
        picked = sorted(rng.sample(range(len(body)), train_rows))
        write(args.out / task / "train.tsv", bom, [l for _, l in head] + [body[i][1] for i in picked])
        bom, dev = lines_of(args.glue / task / "dev.tsv")
        dhead, dbody = (dev[:1], dev[1:]) if header else ([], dev)
        # Stratify on the label (STS-B: on the rounded score) so dev and test keep the dev distribution.
        strata: dict[str, list[int]] = {}
        for i, (_, line) in enumerate(dbody):
            value = line.split("\t")[label_col]
            strata.setdefault(str(round(float(value))) if task == "STS-B" else value, []).append(i)
        test_idx: list[int] = []
        for key in sorted(strata):
            members = strata[key]
            rng.shuffle(members)
            test_idx += members[: len(members) // 2]
        test_set = set(test_idx)
        dev_idx = [i for i in range(len(dbody)) if i not in test_set]
        test_idx = sorted(test_idx)
        write(args.out / task / "dev.tsv", bom, [l for _, l in dhead] + [dbody[i][1] for i in dev_idx])
        columns = dhead[0][1].split("\t") if header else ["source", "label", "original_mark", "sentence"]
        keep = [columns.index(c) for c in TEST_HEADERS[task][1:]]
        test_lines = ["\t".join(TEST_HEADERS[task])] + [
            "\t".join([str(k)] + [dbody[i][1].split("\t")[c] for c in keep]) for k, i in enumerate(test_idx)]
        write(args.out / task / "test.tsv", bom, test_lines)
        for split, source, rows in (("train", "train.tsv", [body[i][0] for i in picked]),
                                    ("dev", "dev.tsv", [dbody[i][0] for i in dev_idx]),
                                    ("test", "dev.tsv", [dbody[i][0] for i in test_idx])):
            src = args.glue / task / source
            selection[f"{task}/{split}.tsv"] = {
                "source": f"glue/{task}/{source}", "source_sha256": hashlib.sha256(src.read_bytes()).hexdigest(),
                "rows": len(rows), "source_lines": rows,
                "sha256": hashlib.sha256((args.out / task / f"{split}.tsv").read_bytes()).hexdigest()}
    (args.out / "selection.json").write_text(json.dumps(selection, indent=1) + "\n", encoding="utf-8")
    for name, entry in selection.items():
        print(f"{name:<18} {entry['rows']:>5} rows from {entry['source']}")


if __name__ == "__main__":
    main()
