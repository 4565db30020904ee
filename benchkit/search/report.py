"""A search's report: per task, the trials as a table (``report.md``, ``trials.csv``) and a plot of the objective
against each searched hyperparameter (``<task>.png``; pruned trials hollow, at the best value they reached, the
baseline a star, the chosen trial ringed)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from benchkit.atomic import write_atomic
from benchkit.search.space import SearchSpace


def _value(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.2f}"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return "–" if value is None else str(value)


def task_file(task_id: str) -> str:
    return task_id.replace("/", "__")


def write_report(folder: Path, state: dict[str, Any], space: SearchSpace) -> None:
    names = list(space.params)
    lines = [f"# Search {state['id']}", "",
             f"Suite `{state['suite']['id']}` {state['suite']['version']}, model `{state['model']}`, method "
             f"`{state['method']}`, strategy `{state['strategy']}` (seed {state['seed']}); every trial trains with seed "
             f"{state['trial_seed']}. Trials are compared on {state['selection']['objective']}: "
             f"**{state['selection']['label']}**."
             + (" Median pruning after {startup_trials} completed trials, from evaluation {first}.".format(
                 startup_trials=state["pruning"]["startup_trials"], first=state["pruning"]["warmup_evaluations"] + 1)
                if state["pruning"] else " No pruning.")
             + f" The chosen recipe of each task is rerun with seeds {', '.join(map(str, state['final_seeds']))}; "
               "`chosen.yaml` holds the chosen recipes (`benchkit run --recipe chosen.yaml`).", "",
             "Space: " + "; ".join(f"`{n}` {d}" for n, d in state["space"].items()) + ".", ""]
    rows = []
    for task_id, task in state["tasks"].items():
        chosen = task["chosen"]
        lines += [f"## {task_id}", ""]
        if chosen is not None:
            gain = ("" if task["baseline"] is None or chosen["value"] is None else
                    f"; the baseline recipe reached {_value(task['baseline'])} "
                    f"({(chosen['value'] - task['baseline']) * 100:+.2f})")
            lines += [f"Chosen: trial {chosen['number']} ({', '.join(f'{k}={_cell(v)}' for k, v in chosen['point'].items()) or 'the baseline recipe'}), "
                      f"{task['primary_metric']} {_value(chosen['value'])} on the selection split{gain}.", ""]
            lines += [f"![{task_id}]({task_file(task_id)}.png)", ""]
        lines += ["| trial | " + " | ".join(names) + f" | {task['primary_metric']} | state | epochs run | train time |",
                  "| ---: | " + " | ".join("---:" for _ in names) + " | ---: | :--- | ---: | ---: |"]
        for trial in task["trials"]:
            point = trial.get("values") or trial["point"]
            mark = " ✓" if chosen is not None and trial["number"] == chosen["number"] else ""
            lines.append(f"| {trial['number']}{mark} | " + " | ".join(_cell(point.get(n, 'base')) for n in names)
                         + f" | {_value(trial['value'])} | {trial['state']} | {_cell(trial['epochs'])} | "
                           f"{_cell(trial['seconds'])} s |")
            rows.append({"task": task_id, "trial": trial["number"], **{n: point.get(n, "") for n in names},
                         "value": trial["value"], "state": trial["state"], "epochs_run": trial["epochs"],
                         "train_seconds": trial["seconds"], "record": trial["record"],
                         "chosen": chosen is not None and trial["number"] == chosen["number"]})
        lines.append("")
        plot(folder / f"{task_file(task_id)}.png", task_id, task, space)
    write_atomic(folder / "report.md", "\n".join(lines) + "\n")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["task", "trial", *names, "value", "state", "epochs_run", "train_seconds",
                                                "record", "chosen"], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(folder / "trials.csv", buffer.getvalue())


def plot(path: Path, task_id: str, task: dict[str, Any], space: SearchSpace) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    names = list(space.params)
    figure = Figure(figsize=(3.6 * max(1, len(names)), 3.2), dpi=100, layout="constrained")
    axes = figure.subplots(1, max(1, len(names)), sharey=True, squeeze=False)[0]
    chosen = task["chosen"]
    for ax, name in zip(axes, names):
        dist = space.params[name]
        categorical = dist.kind == "choice" and not all(isinstance(v, (int, float)) for v in dist.values)
        labels = [str(v) for v in dist.values] if categorical else []
        for trial in task["trials"]:
            value = trial["value"]
            if value is None and trial["curve"]:
                value = max(trial["curve"])  # where a pruned trial got to
            values = trial.get("values") or trial["point"]
            if value is None or values.get(name) is None:
                continue
            x = values[name]
            x = labels.index(str(x)) if categorical else x
            style = {"marker": "o", "color": "C0"}
            if trial["state"] == "pruned":
                style = {"marker": "o", "color": "C0", "markerfacecolor": "white"}
            ax.plot([x], [value * 100], linestyle="none", markersize=7, **style)
            if chosen is not None and trial["number"] == chosen["number"]:
                ax.plot([x], [value * 100], linestyle="none", marker="o", markersize=13, markerfacecolor="none",
                        color="C3")
        if task["baseline"] is not None:
            ax.axhline(task["baseline"] * 100, color="C2", linestyle="--", linewidth=1, label="baseline recipe")
        if dist.kind == "log_uniform":
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0e}"))
            ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:.0e}" if f"{v:.0e}"[0] in "25" else ""))
        if categorical:
            ax.set_xticks(range(len(labels)), labels)
        ax.set_xlabel(name)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel(f"{task['primary_metric']} on the selection split (×100)")
    if task["baseline"] is not None:
        axes[0].legend(fontsize=8, loc="best")
    figure.suptitle(f"{task_id}: trials (hollow: pruned, ringed: chosen)", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue())
