"""Model resolution: aliases, local folders, and Hub ids (offline, from a real Hub cache layout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchkit.errors import BenchkitError
from benchkit.train.models import MODEL_ALIASES, resolve_model, weights_sha256

from conftest import minilm_folder

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _hub_cache(root: Path, repo: str, folder: Path) -> Path:
    """The layout huggingface_hub itself writes: models--org--name/{refs/main, snapshots/<commit>/...}."""
    cache = root / "hub" / f"models--{repo.replace('/', '--')}"
    snapshot = cache / "snapshots" / COMMIT
    shutil.copytree(folder, snapshot)
    (cache / "refs").mkdir(parents=True)
    (cache / "refs" / "main").write_text(COMMIT)
    return snapshot


def test_hub_id_resolves_offline_from_the_local_cache(tiny_model: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    snapshot = _hub_cache(tmp_path, "bench-org/tiny-bert", tiny_model)
    from huggingface_hub import constants

    # huggingface_hub reads these environment variables once, at import; set what it read.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    for spec in ("bench-org/tiny-bert", f"bench-org/tiny-bert@{COMMIT}"):
        model = resolve_model(spec)
        assert model.path == snapshot and model.revision == COMMIT
        assert model.source == "bench-org/tiny-bert" and model.sha256 == weights_sha256(tiny_model)
    with pytest.raises(BenchkitError) as err:
        resolve_model("bench-org/not-cached")
    assert err.value.problems[0].field == "--model" and "local Hub cache" in (err.value.problems[0].hint or "")


def test_run_accepts_a_hub_id(tiny_model: Path, tmp_path: Path) -> None:
    _hub_cache(tmp_path, "bench-org/tiny-bert", tiny_model)
    env = {"HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "glue-mini/mrpc",
                             "--model", "bench-org/tiny-bert", "--out", str(tmp_path / "out"), "--quiet",
                             "--set", "epochs=1", "--set", "max_train_samples=32", "--set", "bootstrap_resamples=0"],
                            capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    record = next((tmp_path / "out" / "runs").rglob("record.json")).read_text()
    assert f'"revision": "{COMMIT}"' in record and '"source": "bench-org/tiny-bert"' in record


def test_alias_carries_its_recipe_and_local_folders_need_a_config(tmp_path: Path) -> None:
    minilm = resolve_model("minilm-l6")
    assert minilm.path == minilm_folder() and minilm.recipe == {"learning_rate": 1e-4}
    assert MODEL_ALIASES.get("minilm-l6").recipe == {"learning_rate": 1e-4}
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchkitError) as err:
        resolve_model(str(tmp_path / "empty"))
    assert err.value.problems[0].format() == (
        f"{tmp_path / 'empty'}: not a transformers model folder: config.json missing "
        "(hint: pass a folder written by save_pretrained, a Hub id or an alias)")


def test_herbert_alias_is_pinned_and_resolves_offline_at_its_commit(tiny_polish_model: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The Polish alias names allegro/herbert-base-cased at a pinned commit with its recipe; offline, the Hub cache
    must hold that commit (here a stand-in: the tiny Polish model's files under the pinned snapshot)."""
    from huggingface_hub import constants

    alias = MODEL_ALIASES.get("herbert-base")
    assert alias.source() == "allegro/herbert-base-cased" and alias.recipe == {"learning_rate": 5e-5}
    assert alias.revision is not None and len(alias.revision) == 40
    cache = tmp_path / "hub" / "models--allegro--herbert-base-cased"
    shutil.copytree(tiny_polish_model, cache / "snapshots" / alias.revision)
    (cache / "refs").mkdir(parents=True)
    (cache / "refs" / "main").write_text(COMMIT)  # main has moved on: the alias still reads its own commit
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    model = resolve_model("herbert-base")
    assert model.revision == alias.revision and model.path == cache / "snapshots" / alias.revision
    assert model.source == "allegro/herbert-base-cased" and model.recipe == {"learning_rate": 5e-5}


@pytest.mark.parametrize("alias", ["distilbert-base", "tinybert-4l", "electra-small", "deberta-v3-xsmall",
                                   "albert-base", "minilm-l12", "distilherbert-base", "herbert-base"])
def test_efficient_model_aliases_are_pinned(alias: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every alias of a small model names a Hub id at a full commit; offline without that commit in the cache, the
    error says which revision to download."""
    from huggingface_hub import constants

    entry = MODEL_ALIASES.get(alias)
    assert "/" in entry.source() and entry.revision is not None and len(entry.revision) == 40
    int(entry.revision, 16)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(BenchkitError) as err:
        resolve_model(alias)
    (problem,) = err.value.problems
    assert entry.source() in problem.message and entry.revision in (problem.hint or "") + problem.message
