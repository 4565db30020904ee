"""Packed execution: several runs at once per device, each in its own process with its own record; a run that runs
out of memory in its share is retried alone and takes no other run down; a finished grid resumes by skipping; packed
runs score what the same runs score one at a time."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from release_helpers import invoke

pytestmark = pytest.mark.xdist_group("packed")

RECIPE = ("--set", "epochs=1", "--set", "max_train_samples=64", "--set", "max_length=64", "--set",
          "bootstrap_resamples=0", "--set", "select=last", "--set", "save_model=false")


@pytest.fixture(scope="module")
def big_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real BERT large enough (132M parameters: weights, gradients and AdamW states take over 2 GiB) that it cannot
    train in a 1.8 GiB share but can in 4 GiB; MiniLM's tokenizer."""
    import transformers

    from conftest import minilm_folder

    folder = tmp_path_factory.mktemp("big-bert")
    config = transformers.BertConfig(vocab_size=30522, hidden_size=1024, num_hidden_layers=8, num_attention_heads=8,
                                     intermediate_size=2048, max_position_embeddings=128)
    transformers.set_seed(0)
    transformers.BertModel(config).save_pretrained(folder)
    transformers.AutoTokenizer.from_pretrained(str(minilm_folder())).save_pretrained(folder)
    return folder


def records(out: Path) -> dict[tuple[str, int], dict[str, Any]]:
    found = {}
    for path in out.glob("runs/**/record.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        record["_folder"] = path.parent
        found[(Path(record["model"]["source"] or record["model"]["name"]).name, record["seed"])] = record
    return found


@pytest.fixture(scope="module")
def packed_grid(tiny_model: Path, big_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """Two runs at once in 4 GiB of CPU memory (1.8 GiB each): the tiny model fits, the big model runs out of memory
    in its share."""
    out = tmp_path_factory.mktemp("packed")
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--model", big_model,
                    "--seeds", "1", *RECIPE, "--runs-per-device", "2", "--memory-per-device", "4G", "--out", out,
                    "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    return out, result.output


def test_each_packed_run_writes_its_own_record(packed_grid: tuple[Path, str], tiny_model: Path,
                                               big_model: Path) -> None:
    out, output = packed_grid
    found = records(out)
    assert sorted(found) == sorted([(tiny_model.name, 1), (big_model.name, 1)])
    for record in found.values():
        assert record["results"]["dev"]["metrics"]["accuracy"] > 0
        assert record["costs"]["peak_memory_kind"] == "process_rss"
        assert "run " in (record["_folder"] / "run.log").read_text(encoding="utf-8")
        assert not list(record["_folder"].glob(".worker-*"))  # the hand-over files are gone
    assert "2 run(s) done, 0 skipped (done earlier), 0 failed" in output


def test_a_run_out_of_memory_in_its_share_is_retried_alone(packed_grid: tuple[Path, str], tiny_model: Path,
                                                           big_model: Path) -> None:
    out, output = packed_grid
    lines = output.splitlines()
    big, tiny = f"glue-mini/sst2 {big_model} full seed 1", f"glue-mini/sst2 {tiny_model} full seed 1"
    assert lines.index(f"start {big} on cpu (1.8 GiB of 4.0)") < lines.index(
        f"OOM   {big}: out of memory in its share of cpu; retrying it alone") < lines.index(
        f"start {big} on cpu (alone)")
    # the tiny run started beside it, once, and was not disturbed
    assert [line for line in lines if line.startswith(f"start {tiny} ")] == [f"start {tiny} on cpu (1.8 GiB of 4.0)"]
    log = (records(out)[(big_model.name, 1)]["_folder"] / "run.log").read_text(encoding="utf-8")
    assert "run failed (out of memory)" in log and "memory share" in log


def test_a_packed_grid_resumes_by_skipping_finished_runs(packed_grid: tuple[Path, str], tiny_model: Path,
                                                         big_model: Path) -> None:
    out, _ = packed_grid
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--model", big_model,
                    "--seeds", "1", *RECIPE, "--runs-per-device", "2", "--memory-per-device", "4G", "--out", out,
                    "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    assert "0 run(s) done, 2 skipped (done earlier), 0 failed" in result.output
    assert "start " not in result.output


def test_packed_runs_score_what_runs_one_at_a_time_score(packed_grid: tuple[Path, str], tiny_model: Path,
                                                         tmp_path: Path) -> None:
    out, _ = packed_grid
    result = invoke("run", "glue-mini", "--task", "glue-mini/sst2", "--model", tiny_model, "--seeds", "1", *RECIPE,
                    "--out", tmp_path, "--quiet", "--no-release")
    assert result.exit_code == 0, result.output
    alone = records(tmp_path)[(tiny_model.name, 1)]
    packed = records(out)[(tiny_model.name, 1)]
    assert alone["config_hash"] == packed["config_hash"]
    assert alone["results"] == packed["results"]


@pytest.mark.parametrize("args, error", [
    (("--processes", "2", "--runs-per-device", "2"),
     "error: --processes: --processes trains one run over several processes; it does not combine with "
     "--runs-per-device or --executor slurm (hint: use --processes for one large run, --runs-per-device to pack "
     "many small ones)"),
    (("--runs-per-device", "0"), "error: --runs-per-device: --runs-per-device must be a whole number from 1 or "
                                 "'auto', not '0' (hint: e.g. --runs-per-device 8, or auto to fit runs to the "
                                 "device's memory)"),
    (("--memory-per-device", "lots"), "error: --memory-per-device: --memory-per-device must be a size such as 60G "
                                      "or 512M, not 'lots' (hint: a number with K, M, G or T)"),
])
def test_bad_packing_options_are_one_line(args: tuple[str, ...], error: str, tiny_model: Path, tmp_path: Path) -> None:
    result = invoke("run", "glue-mini", "--model", tiny_model, *args, "--out", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert [line for line in result.stderr.splitlines() if line.strip()] == [error]
    assert not (tmp_path / "out").exists()


def _spec(model: str, run: int) -> Any:
    return SimpleNamespace(config_hash=f"{model}-{run}", model=SimpleNamespace(name=model), method="full")


def test_auto_packing_fits_runs_to_the_measured_footprint() -> None:
    from benchkit.execute.packed import HEADROOM, Device, Scheduler

    gib = 2 ** 30
    gpu = Device("cuda:0", 80 * gib, visible="0")
    scheduler = Scheduler([gpu], None, {("bert-base", "full"): 4 * gib})
    placed = []
    for run in range(20):
        where = scheduler.place(_spec("bert-base", run))
        if where is None:
            break
        scheduler.take(_spec("bert-base", run), *where)
        placed.append(where)
    assert len(placed) == 16  # 72 GiB / 4 GiB = 18, capped at 16 runs per device
    assert all(share == int(80 * gib * HEADROOM / 16) and not alone for _, share, alone in placed)
    # a model never measured: its first run goes alone and measures; the rest of its group waits for it
    fresh = Scheduler([gpu], None, {})
    device, share, alone = fresh.place(_spec("new", 0))
    assert alone and share == gpu.memory
    fresh.take(_spec("new", 0), device, share, alone)
    assert fresh.place(_spec("new", 1)) is None


def test_memory_per_device_caps_a_gpu_run_as_a_fraction_of_the_gpus_own_memory() -> None:
    """--memory-per-device 40G on a 140 GiB GPU: a run alone there may use 40 GiB (fraction 40/140), not all of it;
    two packed runs 18 GiB each. The fraction is computed from the GPU's total memory, never from the user's value."""
    from benchkit.execute.packed import HEADROOM, Device, Scheduler, worker_env
    from benchkit.execute.worker import SHARE_ENV, memory_fraction

    gib = 2 ** 30
    gpu = Device("cuda:0", 40 * gib, visible="3", total=140 * gib)
    for runs, expected in ((1, 40 * gib), (2, int(40 * gib * HEADROOM / 2))):
        device, share, alone = Scheduler([gpu], runs, {}).place(_spec("m", 0))
        env = worker_env(device, share, runs)
        assert env["CUDA_VISIBLE_DEVICES"] == "3" and int(env[SHARE_ENV]) == expected
        assert memory_fraction(int(env[SHARE_ENV]), 140 * gib) == pytest.approx(expected / (140 * gib))
    assert memory_fraction(200 * gib, 140 * gib) == 1.0
    cpu = worker_env(Device("cpu", 8 * gib, threads=4), 2 * gib, 2)
    assert cpu == {SHARE_ENV: str(2 * gib), "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}
