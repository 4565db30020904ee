"""Two commands on one results folder at once: each run is trained once (claims), records stay whole, and releases
and hosted leaderboard versions are created by exactly one of two concurrent commands. Real processes throughout."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_hosted_leaderboard import labels, oracle_archive  # noqa: F401  (a fixture, used by name)
from test_run import TINY_RECIPE, records

from benchkit.atomic import host_name, install_new_dir, make_work_dir, temp_path, write_atomic
from benchkit.execute import claims
from benchkit.execute.claims import CLAIM_NAME, RunClaim, claim_run, read_holder, take_turn

pytestmark = pytest.mark.xdist_group("concurrency")

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "BENCHKIT_CLAIM_POLL": "0.5"}
SST2 = ["glue-mini/sst2", "--seeds", "1,2", "--quiet", *TINY_RECIPE]


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "benchkit.cli", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=ENV)


def finish(*processes: subprocess.Popen[str]) -> list[tuple[int, str, str]]:
    """Each process's exit code, stdout and stderr, once all have ended."""
    outputs = [p.communicate(timeout=900) for p in processes]
    return [(p.returncode, out, err) for p, (out, err) in zip(processes, outputs, strict=True)]


def trainings(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("done  ")]


@pytest.fixture(scope="module")
def two_commands(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[int, str, str]]]:
    """`benchkit run glue-mini/sst2 --seeds 1,2 --release 1.0.0` twice, started together on one folder."""
    out = tmp_path_factory.mktemp("shared-out")
    args = ("run", *SST2, "--model", str(tiny_model), "--out", str(out), "--release", "1.0.0")
    return out, finish(start(*args, cwd=out), start(*args, cwd=out))


def test_two_runs_on_one_folder_train_each_configuration_once(
        two_commands: tuple[Path, list[tuple[int, str, str]]]) -> None:
    out, results = two_commands
    for code, stdout, stderr in results:
        assert code == 0, stdout + stderr
        assert "Traceback" not in stderr
    done = [line for _, stdout, _ in results for line in trainings(stdout)]
    assert len(done) == 2, done  # 2 trainings for 2 runs (before claims: 4)
    assert sorted(line.split(" seed ")[1].split(":")[0] for line in done) == ["1", "2"]
    found = records(out)
    assert sorted(r.seed for r in found.values()) == [1, 2]
    assert not list((out / "runs").rglob(CLAIM_NAME)) and not list(out.rglob(".*.tmp"))
    for path in found:
        assert (path.parent / "run.log").read_text().count("run glue-mini/sst2") == 1
    # the command that found a run claimed says who holds it, and counts its record as done by another command
    said = "\n".join(stdout for _, stdout, _ in results)
    assert "claimed by another command, host " + host_name() in said
    assert "done by another command" in said
    # both built or found the one release of these runs
    assert all("leaderboard: " in stdout for _, stdout, _ in results)
    assert [p.name for p in (out / "releases" / "glue-mini").iterdir()] == ["1.0.0"]


def test_an_in_process_and_a_packed_command_share_the_grid(tiny_model: Path, tmp_path: Path) -> None:
    """The packed executor (worker processes) claims its runs too."""
    base = ("run", *SST2, "--model", str(tiny_model), "--out", str(tmp_path), "--no-release")
    results = finish(start(*base, cwd=tmp_path), start(*base, "--runs-per-device", "2", cwd=tmp_path))
    assert all(code == 0 for code, _, _ in results), results
    done = [line for _, stdout, _ in results for line in trainings(stdout)]
    assert len(done) == 2, done
    assert sorted(r.seed for r in records(tmp_path).values()) == [1, 2]


def test_two_concurrent_releases_of_one_version_one_wins(
        two_commands: tuple[Path, list[tuple[int, str, str]]]) -> None:
    out, _ = two_commands
    args = ("release", "glue-mini", "--version", "2.0.0", "--runs", str(out), "--out", str(out / "rel"),
            "--resamples", "0")
    results = sorted(finish(start(*args, cwd=out), start(*args, cwd=out)))
    (won, _, _), (lost, _, stderr) = results
    assert (won, lost) == (0, 2), results
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("note: ")]  # e.g. partial entry
    assert len(lines) == 1 and lines[0].startswith("error: ") and "release glue-mini 2.0.0 already exists" in lines[0]
    assert [p.name for p in (out / "rel" / "glue-mini").iterdir()] == ["2.0.0"]  # no building folder left behind
    verify = subprocess.run([sys.executable, "-m", "benchkit.cli", "release", "verify",
                             str(out / "rel" / "glue-mini" / "2.0.0")], capture_output=True, text=True, env=ENV,
                            check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_two_concurrent_hosted_submissions_to_one_version_one_wins(labels: Path, tmp_path: Path) -> None:  # noqa: F811
    first = oracle_archive(labels, tmp_path / "first.zip")
    second = oracle_archive(labels, tmp_path / "second.zip", {"README.txt": "another archive"})
    board = tmp_path / "board"
    common = ("--labels", str(labels), "--leaderboard", str(board), "--resamples", "0", "--version", "1.0.0")
    results = finish(start("submissions", "score", "glue-mini", str(first), "--name", "first", *common, cwd=tmp_path),
                     start("submissions", "score", "glue-mini", str(second), "--name", "second", *common,
                           cwd=tmp_path))
    codes = sorted(code for code, _, _ in results)
    assert codes == [0, 2], results
    stderr = next(e for code, _, e in results if code == 2)
    lines = [line for line in stderr.strip().splitlines() if not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "leaderboard glue-mini 1.0.0 already exists" in lines[0] and "Traceback" not in stderr
    assert [p.name for p in (board / "glue-mini").iterdir()] == ["1.0.0"]
    manifest = json.loads((board / "glue-mini" / "1.0.0" / "manifest.json").read_text())
    assert len(manifest["entries"]) == 1


# ---------------------------------------------------------------------------------------------------------------
# claims: created exclusively, kept fresh, taken over when stale, by exactly one of many


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _write_claim(folder: Path, host: str, pid: int, heartbeat: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CLAIM_NAME).write_text(json.dumps({"host": host, "pid": pid, "token": "old", "started": heartbeat,
                                                 "heartbeat": heartbeat}))


def test_a_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    pid = _dead_pid()
    _write_claim(tmp_path, host_name(), pid, time.time())
    with caplog.at_level("WARNING", logger="benchkit"):
        got = claim_run(tmp_path)
    assert isinstance(got, RunClaim)
    with got:
        holder = read_holder(tmp_path / CLAIM_NAME)
        assert holder is not None and (holder.pid, holder.host) == (os.getpid(), host_name())
    assert f"its process {pid} on {host_name()} is gone" in caplog.text
    assert not (tmp_path / CLAIM_NAME).exists() and os.listdir(tmp_path) == []


def test_another_hosts_claim_is_live_until_its_heartbeat_is_old(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(claims.STALE_ENV, "60")
    _write_claim(tmp_path, "elsewhere", 12345, time.time() - 5)
    held = claim_run(tmp_path)
    assert isinstance(held, claims.Holder) and held.host == "elsewhere"
    assert "host elsewhere pid 12345" in held.describe()
    _write_claim(tmp_path, "elsewhere", 12345, time.time() - 61)
    assert isinstance(claim_run(tmp_path), RunClaim)


def test_the_heartbeat_refreshes_the_claim_and_a_taken_over_claim_is_left_to_its_new_owner(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(claims.HEARTBEAT_ENV, "0.05")
    claim = claim_run(tmp_path)
    assert isinstance(claim, RunClaim)
    first = read_holder(tmp_path / CLAIM_NAME)
    time.sleep(0.3)
    later = read_holder(tmp_path / CLAIM_NAME)
    assert first is not None and later is not None and later.token == first.token
    assert later.heartbeat > first.heartbeat
    # another command took it over (renamed it away and claimed anew): releasing the old claim leaves the new one
    os.rename(tmp_path / CLAIM_NAME, tmp_path / "moved")
    _write_claim(tmp_path, "elsewhere", 1, time.time())
    time.sleep(0.2)
    assert not claim.held()
    claim.release()
    holder = read_holder(tmp_path / CLAIM_NAME)
    assert holder is not None and holder.host == "elsewhere"


def _race_for_claim(folder: str, barrier: multiprocessing.synchronize.Barrier, queue: multiprocessing.Queue) -> None:
    barrier.wait()
    got = claim_run(Path(folder))
    won = isinstance(got, RunClaim)
    queue.put(won)
    if won:
        time.sleep(1.0)  # hold it while the others look
        got.release()


def test_of_many_processes_taking_over_one_stale_claim_exactly_one_wins(tmp_path: Path) -> None:
    _write_claim(tmp_path, host_name(), _dead_pid(), time.time())
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(6), context.Queue()
    workers = [context.Process(target=_race_for_claim, args=(str(tmp_path), barrier, queue)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(queue.get(timeout=5) for _ in workers) == [False] * 5 + [True]


def test_a_claim_taken_after_the_other_command_finished_finds_its_record(tmp_path: Path) -> None:
    (tmp_path / "record.json").write_text(json.dumps({"config_hash": "abc"}))
    turn = take_turn(tmp_path, "abc")
    assert turn.record == tmp_path / "record.json" and turn.claim is None
    assert take_turn(tmp_path, "other").claim is not None  # another configuration's record is not this run's


# ---------------------------------------------------------------------------------------------------------------
# atomic creation: temporary names unique across hosts, folders installed without overwriting


def test_temporary_names_carry_host_pid_and_a_random_token(tmp_path: Path) -> None:
    first, second = temp_path(tmp_path / "record.json", ".tmp"), temp_path(tmp_path / "record.json", ".tmp")
    assert first != second
    assert first.name.startswith(f".record.json.{host_name()}.{os.getpid()}.") and first.name.endswith(".tmp")
    write_atomic(tmp_path / "record.json", "{}")
    assert os.listdir(tmp_path) == ["record.json"]


@pytest.mark.parametrize("primitive", ["os", "fallback"])
def test_a_folder_is_never_installed_over_an_existing_one(primitive: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if primitive == "fallback":  # the portable path, for systems without a no-overwrite rename
        monkeypatch.setattr("benchkit.atomic._noreplace_call", lambda: None)
    final = tmp_path / "1.0.0"
    final.mkdir()  # an empty folder, which a plain rename would replace
    work = make_work_dir(final)
    (work / "manifest.json").write_text("{}")
    with pytest.raises(FileExistsError):
        install_new_dir(work, final)
    assert list(final.iterdir()) == []
    final.rmdir()
    install_new_dir(work, final)
    assert (final / "manifest.json").read_text() == "{}" and sorted(os.listdir(tmp_path)) == ["1.0.0"]


def _race_for_folder(final: str, barrier: multiprocessing.synchronize.Barrier, queue: multiprocessing.Queue) -> None:
    work = make_work_dir(Path(final))
    (work / "who").write_text(str(os.getpid()))
    barrier.wait()
    try:
        install_new_dir(work, Path(final))
        queue.put(os.getpid())
    except FileExistsError:
        queue.put(0)


def test_of_many_processes_installing_one_folder_exactly_one_wins(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(6), context.Queue()
    final = tmp_path / "2.0.0"
    workers = [context.Process(target=_race_for_folder, args=(str(final), barrier, queue)) for _ in range(6)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    winners = [pid for pid in (queue.get(timeout=5) for _ in workers) if pid]
    assert len(winners) == 1 and (final / "who").read_text() == str(winners[0])


# ---------------------------------------------------------------------------------------------------------------
# a repeated --model or --seeds value plans once


def test_a_repeated_model_or_seed_plans_once(tiny_model: Path, tmp_path: Path) -> None:
    from benchkit.execute.plan import RecipeLayers, build_plan
    from benchkit.execute.runs import resolve_run_inputs

    inputs = resolve_run_inputs("glue-mini/sst2", (str(tiny_model), str(tiny_model)), (), "1,1,2", None, None, ())
    assert len(inputs.models) == 1 and inputs.seeds == [1, 2]
    layers = RecipeLayers(inputs.recipe_file, inputs.overrides)
    plan = build_plan(inputs.suite, inputs.tasks, inputs.models * 2, [1, 1, 2], "full", layers, inputs.data_dir,
                      tmp_path)
    assert [spec.seed for spec in plan] == [1, 2]
    assert len({spec.config_hash for spec in plan}) == 2


def test_a_data_parallel_launch_holds_the_claims_of_its_plan_for_its_processes(tmp_path: Path) -> None:
    """`benchkit run --processes N` claims (waiting for runs other commands hold) before it launches its processes,
    which then train without claiming (they could not agree to wait)."""
    from types import SimpleNamespace

    specs = [SimpleNamespace(folder=tmp_path / name, config_hash=name, card=SimpleNamespace(id="glue-mini/sst2"),
                             model=SimpleNamespace(name="tiny"), method="full", seed=seed)
             for seed, name in enumerate(("a", "b"), start=1)]
    script = ("import sys, time; from pathlib import Path; from benchkit.execute.claims import claim_run; "
              "c = claim_run(Path(sys.argv[1])); print('held', flush=True); time.sleep(1.5); c.release()")
    holder = subprocess.Popen([sys.executable, "-c", script, str(specs[0].folder)], stdout=subprocess.PIPE, text=True,
                              env=ENV)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    said: list[str] = []
    with claims.hold_plan(specs, said.append):  # type: ignore[arg-type]
        assert os.environ[claims.HELD_ENV] == "1" and take_turn(specs[0].folder, "a").claim is not None
        for spec in specs:
            holder_now = read_holder(spec.folder / CLAIM_NAME)
            assert holder_now is not None and holder_now.pid == os.getpid()
    holder.wait(10)
    assert len(said) == 1 and said[0].startswith("wait  glue-mini/sst2 tiny full seed 1: claimed by another command")
    assert claims.HELD_ENV not in os.environ
    assert not any((spec.folder / CLAIM_NAME).exists() for spec in specs)


def test_a_packed_worker_stops_when_its_command_is_gone(tmp_path: Path) -> None:
    """A worker trains under its command's claim; when that command is killed the claim goes stale, so the worker
    must not train on beside the next claimant: it exits once its parent is gone."""
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "worker.pid"
    worker = ("import os, sys, time; from benchkit.execute.worker import exit_with_parent; "
              f"exit_with_parent(os.getppid(), 0.05); open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
              "time.sleep(60)")
    parent = ("import subprocess, sys, time; "
              f"subprocess.Popen([sys.executable, '-c', {worker!r}]); time.sleep(60)")
    command = subprocess.Popen([sys.executable, "-c", parent])
    deadline = time.time() + 60
    while not pid_file.is_file() or not pid_file.read_text():
        assert time.time() < deadline, "the worker did not start"
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    command.kill()  # as a lost node or `kill -9` would
    command.wait()
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return  # gone, as it should be
        time.sleep(0.05)
    os.kill(pid, 9)
    raise AssertionError("the worker went on after its command was killed")
