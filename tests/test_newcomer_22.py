"""Newcomer fixes (issue 22, item 11): `search --set` fixes a field for every trial, a Hub model missing offline fails
fast with the alias it matches, Ctrl-C in `score` promises no resume, make_glue_mini's missing selection.json, the
README's extras, and cost plots whose tick labels are distinct."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from conftest import REPO, SHARED_GLUE
from release_helpers import invoke

FAST = ("--set", "max_train_samples=48", "--set", "max_length=48", "--set", "bootstrap_resamples=0",
        "--set", "batch_size=16")


def _records(out: Path) -> dict[str, Any]:
    from benchkit.contracts.run_records import iter_records

    return {r.config_hash: r for _, r in iter_records(out / "runs", pruned=True)}


# ---------------------------------------------------------------------------------------------------------------
# search --set


def test_search_set_fixes_the_field_for_every_trial_and_leaves_it_out_of_the_space(tmp_path: Path,
                                                                                  tiny_model: Path) -> None:
    out = tmp_path / "out"
    result = invoke("search", "glue-mini/sst2", "--model", tiny_model, "--out", out, "--quiet", *FAST,
                    "--set", "epochs=1", "--strategy", "random", "--trials", "2", "--no-baseline", "--no-prune",
                    "--seeds", "1")
    assert result.exit_code == 0, result.output
    # the default space of full fine-tuning names epochs and batch_size: said once, in one line
    (line,) = [x for x in result.output.splitlines() if x.startswith("--set fixes")]
    assert line == ("--set fixes epochs=1, batch_size=16 for every trial: left out of the search space (epochs choice "
                    "[2, 3, 4]; batch_size choice [16, 32])")
    (space_line,) = [x for x in result.output.splitlines() if x.startswith("search ") and "space: " in x]
    assert "epochs" not in space_line and "batch_size" not in space_line and "learning_rate" in space_line
    (path,) = (out / "searches" / "glue-mini").glob("*/search.json")
    state = json.loads(path.read_text())
    assert "epochs" not in state["space"] and "batch_size" not in state["space"] and "learning_rate" in state["space"]
    trials = state["tasks"]["glue-mini/sst2"]["trials"]
    assert [t["number"] for t in trials] == [1, 2]
    found = _records(out)
    for trial in trials:
        assert "epochs" not in trial["point"]
        record = found[trial["config_hash"]]
        assert record.recipe["epochs"] == 1 and record.recipe["batch_size"] == 16 and trial["epochs"] == 1
    chosen = (path.parent / "chosen.yaml").read_text()
    assert "epochs: 1\n" in chosen
    # the header's command trains the same runs: only the task searched, not the whole suite
    assert "# benchkit run glue-mini --task glue-mini/sst2 --model " in chosen
    # a trial's progress line shows what the search compares, not the split the release reports
    done = [x for x in result.output.splitlines() if x.startswith("done  glue-mini/sst2")]
    trial_lines = [x for x in done if ": trial " in x]
    assert len(trial_lines) == 2 and all("accuracy" in x and "on the selection split" in x for x in trial_lines)
    assert not any(" dev accuracy " in x for x in trial_lines)


def test_search_refuses_a_set_that_fixes_the_whole_space(tmp_path: Path, tiny_model: Path) -> None:
    recipe = tmp_path / "space.yaml"
    recipe.write_text("search:\n  epochs: {choice: [1, 2]}\n")
    result = invoke("search", "glue-mini/sst2", "--model", tiny_model, "--out", tmp_path / "out", "--recipe", recipe,
                    "--set", "epochs=1")
    assert result.exit_code == 2
    assert result.output.strip() == ("error: --set: --set fixes every parameter of the search space (epochs): nothing "
                                     "to search (hint: drop one of those --set, or search other fields (a search: "
                                     "section in the --recipe file))")
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------------------------------------
# a Hub model that is not in the local cache


class _CountingHub:
    """A TCP server standing in for the Hub: it counts the connections made to it and closes each at once."""

    def __init__(self) -> None:
        import socketserver
        import threading

        counter = self
        self.connections = 0

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                counter.connections += 1

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _hub_env(tmp_path: Path, endpoint: str, offline: bool) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and k != "HF_HUB_OFFLINE"}
    return {**env, "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_ENDPOINT": endpoint, "DVC_NO_ANALYTICS": "1",
            **({"HF_HUB_OFFLINE": "1"} if offline else {})}


def _run_with_model(tmp_path: Path, model: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # timeout: seconds to spare for the start; huggingface_hub's five retries with backoff alone take 23 s
    return subprocess.run([sys.executable, "-m", "benchkit.cli", "run", "glue-mini/sst2", "--model", model, "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=20,
                          check=False)


def test_offline_a_hub_id_missing_from_the_cache_is_one_line_naming_its_alias_and_asks_no_server(
        tmp_path: Path) -> None:
    hub = _CountingHub()
    try:
        result = _run_with_model(tmp_path, "allegro/herbert-base-cased", _hub_env(tmp_path, hub.url, offline=True))
    finally:
        hub.close()
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: --model: Hub model allegro/herbert-base-cased (revision main) is not in the local "
                           "Hub cache") and "(offline: HF_HUB_OFFLINE is set)" in line
    assert "(hint: did you mean the alias 'herbert-base' (allegro/herbert-base-cased at commit 50e33e0567be)? if not," \
           in line and "'bert-base-cased'" not in line
    assert hub.connections == 0
    assert not (tmp_path / "out").exists()


def test_an_unreachable_hub_fails_after_one_connection_without_the_librarys_retry_lines(tmp_path: Path) -> None:
    port = _closed_port()
    result = _run_with_model(tmp_path, "allegro/herbert-base-cased",
                             _hub_env(tmp_path, f"http://127.0.0.1:{port}", offline=False))
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()  # no "Retrying in 1s [Retry 1/5]", no "thrown while requesting"
    assert f"(the Hub cannot be reached: 127.0.0.1:{port}: Connection refused)" in line
    assert "did you mean the alias 'herbert-base'" in line


def test_a_pinned_alias_in_the_cache_resolves_without_asking_the_hub(tmp_path: Path, tiny_model: Path) -> None:
    import shutil

    from benchkit.train.models import MODEL_ALIASES

    revision = MODEL_ALIASES.get("herbert-base").revision
    assert revision is not None
    snapshot = tmp_path / "hub" / "models--allegro--herbert-base-cased" / "snapshots" / revision
    shutil.copytree(tiny_model, snapshot)  # the layout 'hf download' writes (a copied cache has no tree listing)
    hub = _CountingHub()
    try:
        result = subprocess.run(
            [sys.executable, "-c", ("from benchkit.train.models import resolve_model; "
                                    "print(resolve_model('herbert-base').path)")],
            capture_output=True, text=True, env=_hub_env(tmp_path, hub.url, offline=False), timeout=20, check=False)
    finally:
        hub.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(snapshot) and hub.connections == 0


# ---------------------------------------------------------------------------------------------------------------
# Ctrl-C in score


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_ctrl_c_during_a_score_bootstrap_exits_130_promising_no_resume(tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    predictions.write_text("".join(json.dumps({"id": i, "prediction": "positive" if i % 3 else "negative"}) + "\n"
                                   for i in range(436)))
    # 5 million resamples: many minutes of bootstrap; reading the card and the dev file takes about 1 s of CPU
    process = subprocess.Popen([sys.executable, "-m", "benchkit.cli", "score", "glue-mini/sst2", str(predictions),
                                "--resamples", "5000000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               cwd=tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.time() + 120  # a background test run ignores SIGINT; the child gets Ctrl-C as at a terminal
    while time.time() < deadline and process.poll() is None and _cpu_seconds(process.pid) < 4:
        time.sleep(0.1)
    assert process.poll() is None
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stdout + stderr
    assert stderr.strip().splitlines() == ["interrupted"] and stdout == ""


# ---------------------------------------------------------------------------------------------------------------
# scripts/make_glue_mini.py


def _make_glue_mini(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "scripts" / "make_glue_mini.py"), *args], capture_output=True,
                          text=True, timeout=120, check=False)


def test_make_glue_mini_without_selection_json_is_one_line_with_a_hint(tmp_path: Path) -> None:
    (tmp_path / "mini").mkdir()
    result = _make_glue_mini("--glue", str(SHARED_GLUE), "--out", str(tmp_path / "mini"),
                             "--private-labels", str(tmp_path / "labels"))
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [(
        f"error: {tmp_path / 'mini' / 'selection.json'}: selection.json not found: --out must be a glue-mini folder "
        f"this script built (hint: pass --out data/glue-mini, or build {tmp_path / 'mini'} first: python "
        f"scripts/make_glue_mini.py --glue GLUE_DIR --out {tmp_path / 'mini'})")]
    assert not (tmp_path / "labels").exists()
    missing = _make_glue_mini("--glue", str(tmp_path / "no-glue"), "--out", str(tmp_path / "built"))
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
    assert missing.stderr.startswith(f"error: {tmp_path / 'no-glue' / 'SST-2' / 'train.tsv'}: file not found (hint: "
                                     "--glue is the folder of the official GLUE download")
    assert not (tmp_path / "built").exists()


# ---------------------------------------------------------------------------------------------------------------
# the README's extras


def test_the_readme_describes_the_extras_pyproject_declares() -> None:
    import re
    import tomllib

    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    (members,) = [re.fullmatch(r"benchkit\[(.*)\]", spec).group(1).split(",") for spec in extras["all"]]  # type: ignore[union-attr]
    text = " ".join((REPO / "README.md").read_text().split())
    sentence = text.split("Extras: ", 1)[1].split(". ", 1)[0]
    assert set(re.findall(r"`([a-z]+)` \(", sentence)) | {"gpu", "all"} == set(extras)  # each extra described
    said = re.search(r"`all` = ([a-z +]+)", sentence)
    assert said is not None and [m.strip() for m in said.group(1).split("+")] == members
    for extra in ("efficient", "cluster", "search"):  # what each installs, by package name
        for requirement in extras[extra]:
            package = re.split(r"[<>=\[]", requirement)[0]
            assert package in sentence, (extra, package)


# ---------------------------------------------------------------------------------------------------------------
# the leaderboard's cost plots


def _entry(name: str, score: float, parameters: int, memory: float, seconds: float) -> Any:
    from benchkit.release.scores import Entry
    from benchkit.scoring.scores import SuiteScore
    from benchkit.contracts.run_records import MethodRef, ModelRef

    return Entry(slug=name, model=ModelRef(name=name, source=name, revision=None, sha256="0" * 64),
                 method=MethodRef(name="full"), runs=[], metrics={}, tasks={},
                 suite=SuiteScore("mean", "mean of the tasks", score, False, (), {}, ()), seed_scores=None,
                 ci=(score - 0.02, score + 0.02),
                 costs={"trainable_parameters": parameters, "peak_memory_bytes": int(memory * (1 << 30)),
                        "train_seconds": seconds})


def test_cost_plot_tick_labels_are_distinct_and_do_not_overlap() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from benchkit.release.leaderboard import BYTE_UNITS, cost_figure, unit_labels

    # peak memory 1.6, 1.6 and 1.7 GiB as the table rounds them; parameter counts close together too
    entries = [_entry("a", 0.61, 4_385_000, 1.61, 100.0), _entry("b", 0.63, 4_392_000, 1.64, 130.0),
               _entry("c", 0.66, 4_401_000, 1.69, 160.0)]
    figure = cost_figure(entries, "suite score vs cost")
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in figure.axes:
        lo, hi = ax.get_xlim()
        ticks = [t for t in ax.xaxis.get_major_ticks() if lo <= t.get_loc() <= hi and t.label1.get_visible()]
        labels = [t.label1.get_text() for t in ticks]
        assert len(labels) >= 2 and all(labels) and len(set(labels)) == len(labels), (ax.get_xlabel(), labels)
        boxes = sorted((t.label1.get_window_extent(renderer) for t in ticks), key=lambda b: b.x0)
        assert all(left.x1 < right.x0 for left, right in itertools.pairwise(boxes)), (ax.get_xlabel(), labels)
    memory = next(ax for ax in figure.axes if ax.get_xlabel() == "peak memory")
    assert all(t.get_text().endswith(" GiB") for t in memory.get_xticklabels() if t.get_text())
    assert unit_labels([1.6 * (1 << 30), 1.65 * (1 << 30), 1.7 * (1 << 30)], BYTE_UNITS) == \
        ["1.60 GiB", "1.65 GiB", "1.70 GiB"]
    assert unit_labels([1 << 20, 10 << 20, 1 << 30], BYTE_UNITS) == ["1 MiB", "10 MiB", "1 GiB"]


# ---------------------------------------------------------------------------------------------------------------
# found on the walkthrough


def test_training_imports_print_no_bitsandbytes_kernel_warning() -> None:
    """transformers' Trainer imports peft and bitsandbytes; on CPUs with AVX512-BF16 its CPU backend warned on every
    run that the optional 'kernels' package is missing (a kernel no method uses)."""
    result = subprocess.run([sys.executable, "-c", "import benchkit.train.loop; from transformers import Trainer"],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "kernels" not in result.stderr, result.stderr
