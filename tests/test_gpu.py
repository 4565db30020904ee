"""The GPU path of the runner (bf16, fused AdamW, CUDA peak memory). Skipped without a CUDA GPU; CI has none."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")]


def test_run_on_gpu_uses_bf16_and_reports_cuda_memory(tiny_model: Path, tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "glue-mini", "--task", "glue-mini/sst2",
                             "--model", str(tiny_model), "--out", str(tmp_path), "--quiet", "--set", "epochs=1",
                             "--set", "bootstrap_resamples=0"], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    hardware = record["provenance"]["hardware"]
    assert hardware["gpu"] and hardware["optimizer"] == "adamw_torch_fused"
    assert hardware["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    assert record["costs"]["peak_memory_kind"] == "cuda_max_allocated" and record["costs"]["peak_memory_bytes"] > 0
    log = next((tmp_path / "runs").rglob("run.log")).read_text()
    assert "Traceback" not in log


@pytest.mark.parametrize("method, options", [("galore", ("--set", "galore.eight_bit=true", "--set", "galore.rank=4")),
                                             ("lora+adamw8bit", ())])
def test_eight_bit_methods_train_on_gpu(method: str, options: tuple[str, ...], tiny_model: Path,
                                        tmp_path: Path) -> None:
    """The 8-bit paths that need CUDA (galore-torch's 8-bit GaLore) or are meant for it (bitsandbytes' 8-bit AdamW):
    the run finishes with its method recorded and CUDA peak memory measured."""
    pytest.importorskip("bitsandbytes")
    pytest.importorskip("galore_torch")
    result = subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "glue-mini", "--task", "glue-mini/sst2",
                             "--model", str(tiny_model), "--out", str(tmp_path), "--quiet", "--method", method,
                             *options, "--set", "epochs=1", "--set", "bootstrap_resamples=0", "--no-release"],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    assert record["method"]["name"] == method
    assert record["costs"]["peak_memory_kind"] == "cuda_max_allocated" and record["costs"]["optimizer_state_bytes"] > 0


def test_memory_per_device_caps_a_run_alone_on_its_gpu(tiny_model: Path, tmp_path: Path) -> None:
    """--memory-per-device caps GPU runs too: the worker's CUDA memory fraction is the user's value over the GPU's
    own memory (also for a run that has the GPU alone), and an allocation beyond it fails."""
    gib = 2 ** 30
    total = torch.cuda.get_device_properties(0).total_memory
    result = subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "glue-mini", "--task", "glue-mini/sst2",
                             "--model", str(tiny_model), "--out", str(tmp_path), "--quiet", "--set", "epochs=1",
                             "--set", "max_train_samples=64", "--set", "bootstrap_resamples=0", "--no-release",
                             "--memory-per-device", "2G", "--runs-per-device", "2"], capture_output=True, text=True,
                            timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    log = next((tmp_path / "runs").rglob("run.log")).read_text()
    share = int(2 * gib * 0.9 / 2)
    assert f"memory cap {share} bytes (CUDA memory fraction {share / total:.6f} of the GPU's {total} bytes)" in log
    record = json.loads(next((tmp_path / "runs").rglob("record.json")).read_text())
    assert 0 < record["costs"]["peak_memory_bytes"] <= share
    # the cap holds: beyond the share, CUDA refuses; within it, it allocates
    probe = ("import torch; from benchkit.execute.worker import apply_memory_share; apply_memory_share(); "
             "torch.empty(256 * 2**20, dtype=torch.uint8, device='cuda'); print('within'); "
             "torch.empty(2 * 2**30, dtype=torch.uint8, device='cuda'); print('beyond')")
    capped = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "BENCHKIT_MEMORY_SHARE": str(gib)})
    assert "within" in capped.stdout and "beyond" not in capped.stdout
    assert "OutOfMemoryError" in capped.stderr or "out of memory" in capped.stderr.lower()
