"""``benchkit run --processes N``: the same command again as N data-parallel processes, through accelerate's
launcher (torch.distributed's elastic launcher underneath: NCCL on GPUs, gloo on CPU)."""

from __future__ import annotations

import os
import socket


def without_option(argv: list[str], option: str) -> list[str]:
    """``argv`` without ``--option VALUE`` and ``--option=VALUE``."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            out.append(arg)
    return out


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def relaunch(processes: int, argv: list[str]) -> int:
    """Run ``benchkit <argv>`` (less ``--processes``) as ``processes`` processes on this machine; their exit code."""
    import torch
    from accelerate.commands.launch import launch_command, launch_command_parser

    if not torch.cuda.is_available():  # CPU processes share the cores instead of each taking them all
        os.environ.setdefault("OMP_NUM_THREADS", str(max(1, len(os.sched_getaffinity(0)) // processes)))
    args = launch_command_parser().parse_args([
        "--multi_gpu", "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
        "--dynamo_backend", "no", "--main_process_port", str(free_port()),
        "-m", "benchkit.cli", *without_option(argv, "--processes")])
    try:
        launch_command(args)
    except Exception as error:  # the launcher reports a failed process as an exception, after its output
        print(f"error: a data-parallel process failed: {' '.join(str(error).split())[:300]}")
        return 1
    return 0
