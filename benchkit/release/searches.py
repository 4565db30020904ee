"""The searches behind a release's recipes: ``benchkit search`` writes ``<runs>/searches/<suite>/<id>/search.json``,
listing per task the configuration hashes of the chosen recipe's reruns. A release whose runs include those reruns
names the search in each entry's selection text ("recipe from a random search of 8 trials per task, selected on a 10%
holdout of train"), in the manifest (the search's id, strategy, protocol and per-task chosen point, its score on the
selection split and the baseline's) and in ``results.jsonl`` (``recipe_search`` per run), and carries a copy of the
search's report, trials, plots and chosen recipe file under ``searches/<id>/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from benchkit.contracts.search_records import find_searches

REPORT_FILES = ("search.json", "report.md", "trials.csv", "chosen.yaml")


def search_text(summary: dict[str, Any]) -> str:
    trials = summary["trials"]
    count = f"{trials} trial(s) per task" if trials else "its grid"
    seeds = summary.get("final_seeds") or []
    return (f"recipe from a {summary['strategy']} search of {count}"
            + (" and the baseline" if summary.get("baseline") else "") + f", {summary['selection']['label']}"
            + (f", rerun with seeds {', '.join(map(str, seeds))}" if seeds else ""))


def link(entries: list[Any], runs_dir: Path, suite_id: str, release: Path | None) -> None:
    """Set ``entry.searches`` for the entries whose runs are a search's reruns; copy those searches' reports into
    ``<release>/searches/<id>/``."""
    searches = find_searches(runs_dir, suite_id)
    for entry in entries:
        hashes = {run.record.config_hash for run in entry.runs}
        for folder, data in searches:
            tasks = {task: info for task, info in data["tasks"].items()
                     if hashes & {r["config_hash"] for r in info.get("reruns", [])}}
            if not tasks:
                continue
            entry.searches.append({
                "id": data["id"], "strategy": data["strategy"], "trials": data["trials"],
                "baseline": data.get("baseline", False), "selection": _selection(data, entry.runs),
                "pruning": data["pruning"],
                "trial_seed": data.get("trial_seed"), "final_seeds": data.get("final_seeds", []),
                "space": data["space"], "report": f"searches/{data['id']}/report.md",
                "tasks": {task: {"chosen": info["chosen"], "baseline": info["baseline"],
                                 "trials": len(info["trials"]),
                                 "pruned": sum(1 for t in info["trials"] if t["state"] == "pruned"),
                                 "reruns": info["reruns"]} for task, info in tasks.items()}})
            if release is not None:
                target = release / "searches" / data["id"]
                target.mkdir(parents=True, exist_ok=True)
                for name in [*REPORT_FILES, *(p.name for p in sorted(folder.glob("*.png")))]:
                    if (folder / name).is_file():
                        shutil.copyfile(folder / name, target / name)


def _selection(data: dict[str, Any], runs: list[Any]) -> dict[str, Any]:
    """The search's selection; for a search written before it named the tasks reporting test (``reported_on_test``),
    restated from the runs: a task whose records report only test splits selected on dev, not on a holdout."""
    from benchkit.contracts.run_records import selection_protocol

    selection = data["selection"]
    if "reported_on_test" in selection:
        return selection
    reported = {r.record.task.id: set(r.record.results) for r in runs if r.record.task.id in data["tasks"]}
    on_test = sorted(t for t, splits in reported.items() if splits and all(s.startswith("test") for s in splits))
    if not on_test:
        return selection
    holdout = selection.get("holdout") or {}
    return {**selection, **selection_protocol(selection.get("on_dev", False), holdout.get("fraction", 0.1),
                                              holdout.get("seed", 0), on_test, len(on_test) < len(data["tasks"]))}


def run_searches(entry: Any) -> dict[str, str]:
    """config hash -> the id of the search whose chosen recipe the run reruns."""
    return {r["config_hash"]: s["id"] for s in entry.searches for t in s["tasks"].values() for r in t["reruns"]}
