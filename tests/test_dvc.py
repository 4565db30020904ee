"""Real DVC in a temporary git repository: the generated pipeline builds a release of glue-mini's data (two of its
tasks, to keep it short) with the tiny model, a second ``dvc repro`` does nothing, changing one data file reruns only that task's stages and the release,
and ``dvc push``/``dvc pull`` through a local-folder remote give a fresh clone that ``dvc repro`` finds up to date."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("dvc")]
SUITE = "glue-mini-dvc"
TASKS = ("glue-mini/sst2", "glue-mini/mrpc")
RUNNING = re.compile(r"Running stage '([^']+)'")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # `benchkit` and `dvc` from this interpreter's environment (unless PATH already provides benchkit)
    bindir = str(Path(sys.executable).parent)
    if shutil.which("benchkit") is None:
        env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    else:
        env["PATH"] = env.get("PATH", "") + os.pathsep + bindir
    env.update(DVC_NO_ANALYTICS="1", GIT_AUTHOR_NAME="benchkit test", GIT_AUTHOR_EMAIL="test@example.invalid",
               GIT_COMMITTER_NAME="benchkit test", GIT_COMMITTER_EMAIL="test@example.invalid",
               HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    return env


def sh(*args: str, cwd: Path, timeout: int = 300) -> str:
    done = subprocess.run(list(args), check=False, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done.stdout + done.stderr


def ran(output: str) -> set[str]:
    return set(RUNNING.findall(output))


@pytest.fixture(scope="module")
def tools() -> None:
    pytest.importorskip("dvc", reason="pip install -e '.[versioning]' (dvc)")
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    probe = subprocess.run(["benchkit", "release", "--help"], check=False, env=_env(), capture_output=True, text=True)
    assert probe.returncode == 0, ("`benchkit release` is not available: cli.py must call "
                                   "benchkit.cli.release.register(main)\n" + probe.stderr)


def test_dvc_repro_noop_partial_rerun_and_push_pull(tools: None, tmp_path: Path, tiny_model: Path) -> None:
    repo = tmp_path / "repo"
    for part in ("tasks/glue", "tasks/glue-mini", "data/glue-mini"):
        shutil.copytree(REPO / part, repo / part)
    # glue-mini's suite card with two of its four tasks (SST-2, MRPC), to keep each repro short
    suite = yaml.safe_load((REPO / "benchmarks" / "glue-mini.yaml").read_text())
    suite.update(id=SUITE, name="GLUE-mini, two tasks", tasks=[t for t in suite["tasks"] if t["id"] in TASKS])
    (repo / "benchmarks").mkdir()
    (repo / "benchmarks" / f"{SUITE}.yaml").write_text(yaml.safe_dump(suite, sort_keys=False))
    sh("git", "init", "-q", cwd=repo)
    sh("dvc", "init", "-q", cwd=repo)
    sh("dvc", "add", "-q", "data/glue-mini", cwd=repo)  # the data are versioned by DVC, not git
    generated = sh("benchkit", "dvc", SUITE, "--model", str(tiny_model), "--seeds", "1",
                   "--set", "epochs=1", "--set", "max_train_samples=32", "--set", "bootstrap_resamples=0",
                   "--set", "select=last", "--set", "max_length=64",
                   "--resamples", "50", cwd=repo)
    assert "6 stages" in generated
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "pipeline", cwd=repo)

    first = sh("dvc", "repro", cwd=repo, timeout=600)
    tasks = ("sst2", "mrpc")
    assert ran(first) == {*(f"prepare-{t}" for t in tasks), "recipe", *(f"run-{t}" for t in tasks), "release"}
    release = repo / "releases" / SUITE / "1.0.0"
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["dvc"]["lock"] == "dvc.lock"
    assert {"prepare-mrpc", "run-mrpc"} <= set(manifest["dvc"]["stages"]) and "release" not in manifest["dvc"]["stages"]
    assert json.loads((repo / "prepared/glue-mini/sst2/prepared.json").read_text())["splits"]["train"]["rows"] > 0
    recipe = (repo / f"build/{SUITE}/recipe.yaml").read_text()
    assert "epochs: 1" in recipe and "max_train_samples: 32" in recipe
    record = next((repo / f"records/{SUITE}/sst2").rglob("record.json"))
    assert json.loads(record.read_text())["recipe"]["max_train_samples"] == 32

    second = sh("dvc", "repro", cwd=repo)
    assert ran(second) == set() and "Data and pipelines are up to date." in second

    train = repo / "data/glue-mini/MRPC/train.tsv"
    before = manifest["tasks"][1]["data"]["train"]["sha256"]
    raw = train.read_bytes()
    assert b" the " in raw
    train.write_bytes(raw.replace(b" the ", b" The ", 1))  # one byte of one sentence changes
    third = sh("dvc", "repro", cwd=repo, timeout=600)
    assert ran(third) == {"prepare-mrpc", "run-mrpc", "release"}
    manifest = json.loads((release / "manifest.json").read_text())
    assert manifest["tasks"][1]["id"] == "glue-mini/mrpc"
    assert manifest["tasks"][1]["data"]["train"]["sha256"] not in (before, None)

    remote = tmp_path / "remote"
    sh("dvc", "remote", "add", "-d", "local", str(remote), cwd=repo)
    sh("git", "add", "-A", cwd=repo)
    sh("git", "commit", "-qm", "release 1.0.0", cwd=repo)
    sh("dvc", "push", cwd=repo)
    assert any(remote.rglob("*"))

    clone = tmp_path / "clone"
    sh("git", "clone", "-q", str(repo), str(clone), cwd=tmp_path)
    assert not (clone / "data/glue-mini/MRPC/train.tsv").exists()
    assert not (clone / f"releases/{SUITE}/1.0.0").exists() and not (clone / f"records/{SUITE}/sst2").exists()
    sh("dvc", "pull", cwd=clone)
    assert (clone / "data/glue-mini/MRPC/train.tsv").read_bytes() == train.read_bytes()
    assert (clone / f"releases/{SUITE}/1.0.0/leaderboard.html").is_file()
    again = sh("dvc", "repro", cwd=clone)
    assert ran(again) == set() and "Data and pipelines are up to date." in again
    verified = sh("benchkit", "release", "verify", f"releases/{SUITE}/1.0.0", cwd=clone)
    assert "hashes match" in verified
