"""``benchkit new task`` as a new user meets it: raw Polish and English files from anywhere (copied into the suite's
data folder and tracked with DVC), the official split names (CoNLL's eng.testa/eng.testb, val, dev_matched), an
evaluation-only task from a dev file alone, a carve that passes its own leakage check, one line and nothing written
for a bad file, a completed IOB1 tag set, and cards whose comments say what the task score is (score_metrics)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

CONLL = REPO / "tests" / "fixtures" / "conll2003"


def benchkit(root: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *map(str, args)], cwd=root, capture_output=True,
                          text=True, timeout=300, stdin=subprocess.DEVNULL, check=False,
                          env={**os.environ, "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1",
                               "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")})


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
    return lines[0]


@pytest.fixture()
def suite(tmp_path: Path) -> Path:
    """A benchmark folder with suite 'polski' (new suite: git and DVC initialised) and an empty raw/ folder."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pytest.importorskip("dvc", reason="pip install -e '.[versioning]' (dvc)")
    root = tmp_path / "bench"
    done = benchkit(tmp_path, "new", "suite", "polski", "--language", "pol-Latn", "--root", root)
    assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "raw").mkdir()
    return root


OPINIONS = [("Świetna książka, polecam każdemu czytelnikowi!", "pozytywny"),
            ("Nudna, źle napisana i za długa.", "negatywny"),
            ("Żółw idzie powoli, ale w końcu dociera do celu.", "neutralny")]


def write_tsv(path: Path, rows: list[tuple[str, str]]) -> None:
    path.write_text("tekst\tetykieta\n" + "".join(f"{t}\t{y}\n" for t, y in rows), encoding="utf-8")


def opinions(n: int, start: int = 0) -> list[tuple[str, str]]:
    return [(f"{text} (opinia {i})", label) for i in range(start, start + n) for text, label in OPINIONS]


def test_files_from_anywhere_are_copied_into_the_data_folder_and_tracked_with_dvc(suite: Path) -> None:
    raw = suite.parent / "raw"
    write_tsv(raw / "train.tsv", opinions(10))
    write_tsv(raw / "dev.tsv", opinions(3, start=10))
    done = benchkit(suite, "new", "task", raw / "train.tsv", raw / "dev.tsv", "--suite", "polski", "--task",
                    "opinie", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"copied {raw / 'train.tsv'} to data/polski/opinie/train.tsv" in done.stdout
    assert f"copied {raw / 'dev.tsv'} to data/polski/opinie/dev.tsv" in done.stdout
    assert "dvc: tracking data/polski (data/polski.dvc;" in done.stdout
    assert (suite / "data" / "polski.dvc").is_file()
    assert (suite / "data" / "polski" / "opinie" / "train.tsv").read_bytes() == (raw / "train.tsv").read_bytes()
    assert "  dir: opinie\n" in (suite / "tasks" / "polski" / "opinie.yaml").read_text()
    validated = benchkit(suite, "validate", "polski", "--strict")
    assert validated.returncode == 0, validated.stdout + validated.stderr
    # a second task re-adds the output that already tracks the data folder
    write_tsv(raw / "train.tsv", opinions(10, start=20))
    (raw / "dev.tsv").unlink()
    second = benchkit(suite, "new", "task", raw / "train.tsv", "--suite", "polski", "--task", "opinie2", "--yes")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "dvc: tracking data/polski (data/polski.dvc;" in second.stdout
    status = subprocess.run([sys.executable, "-m", "dvc", "status"], cwd=suite, capture_output=True, text=True,
                            env={**os.environ, "DVC_NO_ANALYTICS": "1"}, check=False)
    assert "up to date" in status.stdout, status.stdout + status.stderr


def test_one_conll_file_carves_a_dev_that_passes_its_own_leakage_check(suite: Path) -> None:
    # CoNLL-2003's train holds many one-token sentences (':' lines, '-DOCSTART-' documents): a carve that takes one
    # of them puts an input in dev that train keeps
    sentences = []
    for i in range(60):
        sentences.append(f"Wałęsa NNP I-NP I-PER\nodwiedził VBD I-VP O\nmiasto{i} NNP I-NP I-LOC\n. . O O\n")
        if i % 3 == 0:
            sentences.append(": : O O\n")
    text = "-DOCSTART- -X- -X- O\n\n" + "\n".join(sentences)
    raw = suite.parent / "raw" / "eng.train"
    raw.write_text(text, encoding="utf-8")
    done = benchkit(suite, "new", "task", raw, "--suite", "polski", "--task", "ner", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "dev: derived from train" in done.stdout and "validate tasks/polski/ner.yaml: ok" in done.stdout
    card = (suite / "tasks" / "polski" / "ner.yaml").read_text()
    assert "    derive: {from: train, fraction: 0.1, seed: 0}" in card
    validated = benchkit(suite, "validate", "polski/ner", "--strict")
    assert validated.returncode == 0 and "leakage" not in validated.stdout + validated.stderr, validated.stderr


def test_conll_2003_file_names_name_the_splits_and_iob1_tags_are_completed(suite: Path) -> None:
    files = [CONLL / name for name in ("eng.train", "eng.testa", "eng.testb")]
    done = benchkit(suite, "new", "task", *files, "--suite", "polski", "--task", "conll", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    card = (suite / "tasks" / "polski" / "conll.yaml").read_text()
    assert "train: {file: eng.train, rows: 5}" in card and "dev: {file: eng.testa, rows: 3}" in card
    assert "test: {file: eng.testb, rows: 4}" in card
    # IOB1 writes B- only between adjacent chunks of one type: the fixtures hold B-LOC but no B-PER
    assert "names: [O, B-LOC, B-MISC, B-ORG, B-PER, I-LOC, I-MISC, I-ORG, I-PER]" in card
    assert "completed with B-MISC, B-ORG, B-PER, which the files do not hold" in done.stdout
    assert "# labels.names: the tags seen, completed with B-MISC, B-ORG, B-PER" in card
    assert "score_metrics: [seqeval_f1]" in card
    assert "# metrics: the task score is entity-level F1 (seqeval)" in card


@pytest.mark.parametrize("names, splits", [
    (("train.jsonl", "val.jsonl"), {"train": "train.jsonl", "dev": "val.jsonl"}),
    (("train.tsv", "dev_matched.tsv", "dev_mismatched.tsv"),
     {"train": "train.tsv", "dev_matched": "dev_matched.tsv", "dev_mismatched": "dev_mismatched.tsv"}),
    (("train.tsv", "validation.tsv", "test_features.tsv"),
     {"train": "train.tsv", "dev": "validation.tsv", "test": "test_features.tsv"}),
])
def test_official_split_file_names(names: tuple[str, ...], splits: dict[str, str]) -> None:
    from benchkit.scaffold.infer import splits_of

    assert {s: p.name for s, p in splits_of([Path(n) for n in names]).items()} == splits


def test_a_lone_dev_file_is_an_evaluation_only_task(suite: Path) -> None:
    raw = suite.parent / "raw" / "dev.tsv"
    write_tsv(raw, opinions(4))
    done = benchkit(suite, "new", "task", raw, "--suite", "polski", "--task", "adwersarz", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no train file, so an evaluation-only task" in done.stdout
    card_path = suite / "tasks" / "polski" / "adwersarz.yaml"
    card = card_path.read_text()
    assert "splits:\n  dev: {file: dev.tsv, rows: 12}\n" in card and "derive" not in card
    assert "evaluated_with" in card  # the comment says how to name the task whose models it evaluates
    assert "validate tasks/polski/adwersarz.yaml: ok (dev 12)" in done.stdout


@pytest.mark.parametrize("content, message", [
    ("", "no data rows: the file is empty"),
    ("tekst\tetykieta\n", "no data rows: the file holds only a header (tekst, etykieta)"),
])
def test_a_bad_file_is_one_line_and_nothing_is_written(content: str, message: str, suite: Path) -> None:
    raw = suite.parent / "raw" / "train.tsv"
    raw.write_text(content, encoding="utf-8")
    suite_card = (suite / "benchmarks" / "polski.yaml").read_text()
    line = one_line(benchkit(suite, "new", "task", raw, "--suite", "polski", "--task", "zle", "--yes"))
    assert line == (f"error: {raw}: FILE: {message} (hint: pass the split's file with its rows (one example per "
                    "line or record))")
    assert not (suite / "tasks" / "polski" / "zle.yaml").exists() and not (suite / "data" / "polski" / "zle").exists()
    assert (suite / "benchmarks" / "polski.yaml").read_text() == suite_card


def test_a_json_lines_file_with_a_bad_line_names_it(suite: Path) -> None:
    raw = suite.parent / "raw" / "train.jsonl"
    good = json.dumps({"tekst": "Dobra książka o kotach.", "etykieta": "tak"})
    raw.write_text(good + "\n{tekst: bez cudzysłowu}\n", encoding="utf-8")
    line = one_line(benchkit(suite, "new", "task", raw, "--suite", "polski", "--task", "zle", "--yes"))
    assert line.startswith(f"error: {raw}:2: FILE: not a JSON object:")


def test_the_imbalance_rule_is_the_documented_one_and_the_card_states_its_score(suite: Path) -> None:
    from benchkit.cards.loader import load_task_card
    from benchkit.scoring.scores import task_score

    raw = suite.parent / "raw"
    rows = [(f"Tekst numer {i} o czymś ciekawym.", label) for i, label in
            enumerate(["pozytywny"] * 45 + ["negatywny"] * 45 + ["neutralny"] * 10)]
    write_tsv(raw / "train.tsv", rows)
    done = benchkit(suite, "new", "task", raw / "train.tsv", "--suite", "polski", "--task", "trzy", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    why = ("imbalanced classes (the smallest, neutralny, holds 10% of train, under half of an even share (33%)): the "
           "task score is macro-F1 alone (score_metrics), accuracy is reported beside it")
    card_path = suite / "tasks" / "polski" / "trzy.yaml"
    assert f"# metrics: {why}\nmetrics: [f1_macro, accuracy]" in card_path.read_text()
    readme = (REPO / "README.md").read_text()
    assert "over 60% of train" in readme and "under half of an even share" in readme
    card = load_task_card(card_path)
    assert card.score_metrics == ["f1_macro"]
    assert task_score({"f1_macro": 0.5, "accuracy": 0.9}, card.score_metrics) == 0.5


def test_inputs_the_given_files_share_become_a_leakage_warning_to_confirm(suite: Path) -> None:
    raw = suite.parent / "raw"
    write_tsv(raw / "train.tsv", opinions(10))
    write_tsv(raw / "dev.tsv", opinions(2))  # the first rows of train again
    unsure = benchkit(suite, "new", "task", raw / "train.tsv", raw / "dev.tsv", "--suite", "polski", "--task", "dup",
                      "--label", "etykieta")
    assert one_line(unsure).startswith("error: --yes: unsure: checks.leakage: warning (guess: the given files share "
                                       f"inputs across splits, e.g. {raw / 'dev.tsv'}:2;")
    assert not (suite / "tasks" / "polski" / "dup.yaml").exists()
    done = benchkit(suite, "new", "task", raw / "train.tsv", raw / "dev.tsv", "--suite", "polski", "--task", "dup",
                    "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "checks: {leakage: warning}" in (suite / "tasks" / "polski" / "dup.yaml").read_text()


def test_dvc_tracked_files_in_the_data_folder_are_named_by_their_folder_not_their_cache_link(suite: Path) -> None:
    subprocess.run([sys.executable, "-m", "dvc", "config", "cache.type", "symlink"], cwd=suite, check=True,
                   capture_output=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    folder = suite / "data" / "polski" / "recenzje"
    folder.mkdir()
    write_tsv(folder / "train.tsv", opinions(10))
    write_tsv(folder / "dev.tsv", opinions(3, start=10))
    subprocess.run([sys.executable, "-m", "dvc", "add", "-q", "data/polski"], cwd=suite, check=True,
                   capture_output=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    assert (folder / "train.tsv").is_symlink()  # into .dvc/cache/files/md5/<xx>/
    done = benchkit(suite, "new", "task", "data/polski/recenzje/train.tsv", "data/polski/recenzje/dev.tsv", "--suite",
                    "polski", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "copied" not in done.stdout and "validate tasks/polski/recenzje.yaml: ok (train 30, dev 9)" in done.stdout
    assert "  dir: recenzje\n" in (suite / "tasks" / "polski" / "recenzje.yaml").read_text()


def test_new_suite_keeps_run_outputs_out_of_git(suite: Path) -> None:
    """The walkthrough's `git add .` commits cards and .dvc files, never results/ (runs, releases) or DVC outputs;
    a second suite in the same root adds nothing twice."""
    (suite / "results" / "runs").mkdir(parents=True)
    (suite / "results" / "runs" / "record.json").write_text("{}", encoding="utf-8")
    (suite / "releases").mkdir()
    (suite / "releases" / "manifest.json").write_text("{}", encoding="utf-8")
    ignored = subprocess.run(["git", "check-ignore", "results/runs/record.json", "releases/manifest.json",
                              "benchmarks/polski.yaml"], cwd=suite, capture_output=True, text=True)
    assert ignored.stdout.split() == ["results/runs/record.json", "releases/manifest.json"]
    before = (suite / ".gitignore").read_text(encoding="utf-8")
    done = benchkit(suite.parent, "new", "suite", "angielski", "--language", "eng-Latn", "--root", suite, "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (suite / ".gitignore").read_text(encoding="utf-8") == before


def test_a_grouped_carve_moves_whole_groups_and_leaves_only_groups_sharing_an_input() -> None:
    """MultiRC-like rows: an input repeated inside one group moves with it (no leak), so such groups can be carved;
    a group sharing an input with another group is never carved. At least one group is always carved."""
    import pandas as pd

    from benchkit.cards.loader import load_task_card
    from benchkit.cards.schema import Derive
    from benchkit.loading import input_keys, split_off

    card = load_task_card(REPO / "tasks" / "superglue" / "multirc.yaml")
    derive = Derive.model_validate({"from": "train", "fraction": 0.5, "seed": 1})
    within = pd.DataFrame({"id": [str(i) for i in range(8)], "group": [1, 1, 2, 2, 3, 3, 4, 4],
                           "text": ["p a", "p a", "q b", "q b", "r c", "r c", "s d", "s e"],
                           "label": ["True", "False"] * 4})
    rest, carved = split_off(card, within, derive)
    assert len(carved) == 4 and len(set(carved["group"])) == 2 and not set(carved["group"]) & set(rest["group"])
    across = within.copy()
    across.loc[7, "text"] = "p a"  # group 4 shares an input with group 1
    rest, carved = split_off(card, across, derive)
    assert set(carved["group"]) == {2, 3}
    assert not set(input_keys(carved)) & set(input_keys(rest))
