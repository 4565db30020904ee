"""Data files that are links. DVC's documented way to track large data (``cache.type: symlink``, ``hardlink``,
``reflink``) turns workspace files into links into ``.dvc/cache``: a card reads them, hashes their content and names
them where the user put them. What a card may *name* stays confined (tests/test_card_safety.py): a path that climbs
out of its root is refused, and so is an unpacked submission's link out of its folder."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from card_helpers import sst2_benchmark


def env() -> dict[str, str]:
    return {**os.environ, "DVC_NO_ANALYTICS": "1", "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")}


def benchkit(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "benchkit.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env(), check=False)


def sh(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, cwd=cwd, env=env(), check=False)


@pytest.fixture()
def bench(tmp_path: Path) -> Path:
    """tasks/glue/{_glue,sst2}.yaml (row counts of the embedded rows) and data/SST-2."""
    root = tmp_path / "bench"
    sst2_benchmark(root)
    return root


def dvc_repo(root: Path, cache_type: str) -> None:
    pytest.importorskip("dvc", reason="pip install -e '.[versioning]' (dvc)")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for command in (["git", "init", "-q"], [sys.executable, "-m", "dvc", "init", "-q"],
                    [sys.executable, "-m", "dvc", "config", "cache.type", cache_type]):
        done = sh(*command, cwd=root)
        assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("cache_type", ["symlink", "hardlink", "reflink", "reflink,copy"])
def test_dvc_tracked_files_of_each_cache_type_are_read(cache_type: str, bench: Path) -> None:
    from benchkit.cards.loader import load_task_card
    from benchkit.loading import locate, split_identity

    original = (bench / "data" / "SST-2" / "train.tsv").read_bytes()
    dvc_repo(bench, cache_type)
    added = sh(sys.executable, "-m", "dvc", "add", "-q", "data/SST-2", cwd=bench)
    if added.returncode != 0 and cache_type == "reflink":
        pytest.skip(f"reflink is not supported on this filesystem: {added.stderr.strip()[:200]}")
    assert added.returncode == 0, added.stderr
    train = bench / "data" / "SST-2" / "train.tsv"
    cache = (bench / ".dvc" / "cache").resolve()
    if cache_type == "symlink":
        assert train.is_symlink() and train.resolve().is_relative_to(cache)  # outside the data folder
    elif cache_type == "hardlink":
        assert not train.is_symlink() and train.stat().st_nlink == 2
    # reflink: a copy-on-write clone where the filesystem has them (btrfs, xfs), else (ext4) DVC keeps a plain copy
    card = bench / "tasks" / "glue" / "sst2.yaml"
    validated = benchkit("validate", card, "--data-dir", "data", "--strict", cwd=bench)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    assert "train 1500" in validated.stdout and "dev 436" in validated.stdout
    shown = benchkit("show", card, "--data-dir", "data", cwd=bench)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    # what a run record and a release name: the file where the user put it, the hash of the content it leads to
    where = locate(load_task_card(card), "train", bench / "data")
    assert where is not None
    name, digest = split_identity(load_task_card(card), where, bench / "data")
    assert (name, digest) == ("SST-2/train.tsv", hashlib.sha256(original).hexdigest())


def test_predict_file_reads_a_dvc_tracked_file_through_its_link(bench: Path) -> None:
    from benchkit.cards.loader import load_task_card
    from benchkit.execute.predict import file_card
    from benchkit.validation.frames import load_frames

    dvc_repo(bench, "symlink")
    assert sh(sys.executable, "-m", "dvc", "add", "-q", "data/SST-2", cwd=bench).returncode == 0
    test = bench / "data" / "SST-2" / "test.tsv"
    assert test.is_symlink() and test.resolve().name != "test.tsv"  # the cache names its files by their hash
    card, folder = file_card(load_task_card(bench / "tasks" / "glue" / "sst2.yaml"), test)
    assert len(load_frames(card.model_copy(update={"splits": {"test": card.splits["test"]}}), folder)["test"]) == 436


def test_a_dvc_pipeline_depends_on_the_workspace_file_not_its_cache_target(bench: Path) -> None:
    from benchkit.cards.loader import load_task_card
    from benchkit.release.dvc_pipeline import _data_deps

    dvc_repo(bench, "symlink")
    assert sh(sys.executable, "-m", "dvc", "add", "-q", "data/SST-2", cwd=bench).returncode == 0
    card = load_task_card(bench / "tasks" / "glue" / "sst2.yaml")
    assert _data_deps(card, bench / "data", bench) == ["data/SST-2/train.tsv", "data/SST-2/dev.tsv",
                                                       "data/SST-2/test.tsv"]


def test_a_link_whose_target_is_missing_is_one_line_naming_both(bench: Path) -> None:
    target = bench.parent / "gone" / "train.tsv"
    link = bench / "data" / "SST-2" / "train.tsv"
    link.unlink()
    link.symlink_to(target)
    for command in ("validate", "show"):
        done = benchkit(command, bench / "tasks" / "glue" / "sst2.yaml", "--data-dir", bench / "data", cwd=bench)
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stdout + done.stderr
        assert lines[0] == (f"error: {link}: split 'train' of glue/sst2: the link {link} leads to {target}, which does "
                            "not exist (hint: restore the target (for a DVC-tracked file: dvc checkout, or dvc pull "
                            "from the remote), or replace the link with the file)")


def test_a_suite_data_folder_that_is_a_link_is_followed_but_its_card_may_not_climb_through_it(bench: Path) -> None:
    elsewhere = bench.parent / "big-disk" / "glue"
    shutil.move(bench / "data", elsewhere)
    (bench / "data").symlink_to(elsewhere)
    (bench / "benchmarks").mkdir()
    suite = bench / "benchmarks" / "mine.yaml"
    head = ("id: mine\nversion: 1.0.0\nname: Mine\ndescription: mine\nlanguages: [eng-Latn]\n"
            "tasks:\n  - {id: glue/sst2, version: 1.0.0}\nscore_rule: mean\n")
    suite.write_text(head + "data_dir: ../data\n", encoding="utf-8")
    done = benchkit("validate", suite, "--strict", cwd=bench)
    assert done.returncode == 0, done.stdout + done.stderr
    suite.write_text(head + "data_dir: ../data/..\n", encoding="utf-8")  # '..' after a link: its target's parent
    climbed = benchkit("validate", suite, cwd=bench)
    assert climbed.returncode == 2 and "data_dir '../data/..' is outside this benchmark" in climbed.stderr


def test_an_unpacked_submission_cannot_link_out_of_its_folder(tmp_path: Path) -> None:
    from benchkit.errors import BenchkitError
    from benchkit.release.submission_readers import SubmissionArchive

    labels = tmp_path / "private" / "SST-2.tsv"
    labels.parent.mkdir()
    labels.write_text("index\tlabel\n0\t1\n", encoding="utf-8")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "CoLA.tsv").write_text("index\tprediction\n0\t1\n", encoding="utf-8")
    assert SubmissionArchive(folder).names() == ["CoLA.tsv"]
    (folder / "SST-2.tsv").symlink_to(labels)
    with pytest.raises(BenchkitError) as err:
        SubmissionArchive(folder)
    problem = err.value.problems[0]
    assert problem.file == str(folder) and problem.message.startswith(f"unsafe member 'SST-2.tsv': a link to {labels}")
