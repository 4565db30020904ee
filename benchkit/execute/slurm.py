"""A grid on a Slurm cluster, through submitit: one array job per grid, each array task a node that runs its group of
runs packed onto its GPUs (``execute.packed``).

Resubmitting the same command submits only the runs without a record (the same configuration hash), so a grid cut
short by time limits or preemption finishes on the next submission; within a task, runs resume from their
checkpoints as they do locally. ``--cluster-backend local`` runs the array through submitit's local executor (each
task a process on this machine), to try a grid's cluster set-up before spending cluster time.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchkit.contracts.run_records import RECORD_NAME, RunRecord, iter_records
from benchkit.errors import BenchkitError, Problem
from benchkit.execute.local import GridResult
from benchkit.train.spec import RunSpec

SLURM_FOLDER = "slurm"  # under --out: submitit's job scripts, logs and pickled results


@dataclass(frozen=True)
class SlurmOptions:
    backend: str = "slurm"  # submitit's cluster: slurm, local (processes here) or debug (in this process)
    partition: str | None = None
    gpus_per_node: int = 1
    time_minutes: int = 240
    runs_per_job: int | None = None  # None: runs_per_device x gpus_per_node, one wave per node
    cpus_per_task: int | None = None
    mem_gb: int | None = None
    account: str | None = None
    array_parallelism: int = 64
    wait: bool = False


def run_group(specs: list[RunSpec], out: Path, runs_per_device: int | None,
              memory: int | None) -> list[tuple[str, str, str]]:
    """One array task: the group's runs packed onto this node's devices. Returns (config hash, status, message)."""
    from benchkit.execute.local import QuietProgress
    from benchkit.execute.packed import execute_packed, local_devices

    result = execute_packed(specs, out, QuietProgress(print), local_devices(memory), runs_per_device)
    return ([(spec.config_hash, "done", "") for spec, _ in result.done]
            + [(spec.config_hash, "done", "earlier") for spec, _ in result.skipped]
            + [(spec.config_hash, "failed", message) for spec, message in result.failed])


def groups_of(plan: list[RunSpec], size: int) -> list[list[RunSpec]]:
    """Runs of one model next to each other (a node loads the same weights again from its page cache), cut into
    groups of ``size``."""
    ordered = sorted(plan, key=lambda spec: (spec.model.name, spec.method, spec.card.id, spec.seed))
    return [ordered[i:i + size] for i in range(0, len(ordered), size)]


def submit_grid(plan: list[RunSpec], out: Path, echo: Callable[[str], None], options: SlurmOptions,
                runs_per_device: int | None, memory: int | None) -> GridResult:
    try:
        import submitit
    except ImportError:
        raise BenchkitError(Problem("the Slurm executor needs the package submitit, which is not installed",
                                    field="--executor", hint="pip install 'benchkit[cluster]' (or submitit)")) from None
    result = GridResult()
    finished = {record.config_hash: path for path, record in iter_records(out / "runs")}
    pending = []
    for spec in plan:
        if spec.config_hash in finished:
            result.skipped.append((spec, finished[spec.config_hash]))
        else:
            pending.append(spec)
    if not pending:
        echo(f"nothing to submit: all {len(plan)} run(s) have records in {out / 'runs'}")
        return result
    per_job = options.runs_per_job or max(1, (runs_per_device or 8) * options.gpus_per_node)
    groups = groups_of(pending, per_job)
    executor = submitit.AutoExecutor(folder=str(out / SLURM_FOLDER / "%j"), cluster=options.backend)
    parameters: dict[str, Any] = {"timeout_min": options.time_minutes, "nodes": 1, "tasks_per_node": 1,
                                  "name": f"benchkit-{plan[0].suite.id}", "slurm_array_parallelism":
                                      options.array_parallelism}
    if options.backend == "slurm":
        parameters["gpus_per_node"] = options.gpus_per_node
        for key, value in (("slurm_partition", options.partition), ("cpus_per_task", options.cpus_per_task),
                           ("mem_gb", options.mem_gb), ("slurm_account", options.account)):
            if value is not None:
                parameters[key] = value
    executor.update_parameters(**parameters)
    jobs = executor.map_array(run_group, groups, [out] * len(groups), [runs_per_device] * len(groups),
                              [memory] * len(groups))
    template = out / SLURM_FOLDER / "%j"
    if template.is_dir() and not any(template.iterdir()):
        template.rmdir()  # submitit's placeholder before the job ids are known
    array_id = jobs[0].job_id.split("_")[0]
    echo(f"submitted array job {array_id}: {len(groups)} task(s) of up to {per_job} run(s), {len(pending)} run(s) "
         f"({len(result.skipped)} done earlier); logs in {out / SLURM_FOLDER}/<task id>/, the runs of each task "
         f"in {out / SLURM_FOLDER / array_id}.json")
    _record_submission(out, array_id, jobs, groups)
    if not options.wait:
        echo("the same command resubmits only the runs without a record; 'benchkit release' once they are done")
        return result
    by_hash = {spec.config_hash: spec for spec in pending}
    for job, group in zip(jobs, groups):
        try:
            outcomes = job.result()
        except Exception as error:  # the task itself died (time limit, node failure): its runs count as failed
            message = " ".join(str(error).split())[:300]
            outcomes = [(spec.config_hash, "failed", f"array task {job.job_id}: {message}") for spec in group]
        for config_hash, status, message in outcomes:
            spec = by_hash[config_hash]
            if status == "done":
                record = RunRecord.parse(json.loads((spec.folder / RECORD_NAME).read_text(encoding="utf-8")))
                if message == "earlier":
                    result.skipped.append((spec, spec.folder / RECORD_NAME))
                else:
                    result.done.append((spec, record))
            else:
                result.failed.append((spec, message))
    return result


def _record_submission(out: Path, array_id: str, jobs: list[Any], groups: list[list[RunSpec]]) -> None:
    """Which runs each array task holds, for finding a run's job log."""
    from benchkit.atomic import write_atomic

    folder = out / SLURM_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    tasks = {str(job.job_id): [str(spec.folder) for spec in group] for job, group in zip(jobs, groups)}
    write_atomic(folder / f"{array_id}.json", json.dumps(tasks, indent=2) + "\n")
