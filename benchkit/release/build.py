"""Build ``<out>/<suite>/<version>/`` (``<out>`` defaults to ``<runs>/releases``) from a suite's run records:
refuse what must not be mixed, score, render, write the submissions, copy the records and predictions in, and write
the manifest -- all into a temporary sibling folder that is renamed into place at the end, so a failed or
interrupted build leaves nothing half-written. Versions are immutable: an existing one is refused; ``force``
replaces it (with a warning) by the same build-then-rename. The rename never overwrites
(``atomic.building_dir``): of two commands building one version at once, exactly one creates it and the other
gets a one-line ``ReleaseExists`` error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from benchkit.atomic import building_dir
from benchkit.cards import catalog
from benchkit.cards.catalog import suite_data_dir
from benchkit.errors import BenchkitError, Problem
from benchkit.release.scores import CISettings

VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class ReleaseOptions:
    version: str
    runs_dir: Path = Path("results")
    out_dir: Path | None = None  # None: <runs_dir>/releases, where 'benchkit run' puts its releases
    data_dir: Path | None = None
    force: bool = False
    ci: CISettings = field(default_factory=CISettings)
    submissions: bool = True
    configs: frozenset[str] | None = None  # config hashes to include (a run plan's); None: every record
    where: dict[str, Any] = field(default_factory=dict)  # recipe values the included records must have

    @property
    def releases_dir(self) -> Path:
        return self.out_dir if self.out_dir is not None else self.runs_dir / "releases"


class ReleaseExists(BenchkitError):
    """The version is there already (releases are immutable), perhaps created by a command running at the same time."""


def check_version(version: str) -> str:
    if not VERSION.match(version):
        raise BenchkitError(Problem(f"'{version}' is not a release version", field="--version",
                                    hint="write MAJOR.MINOR.PATCH, e.g. 1.0.0 (optionally -rc1)"))
    return version


def release_dir(out_dir: Path, suite_id: str, version: str) -> Path:
    return out_dir / suite_id / version


def build_release(suite_ref: str, options: ReleaseOptions, warn: Callable[[str], None] = print) -> Path:
    from benchkit.release import datasheet, leaderboard, manifest, results
    from benchkit.release.collect import collect_runs, current_data, unchecked_card_records
    from benchkit.release.scores import load_gold, summarize
    from benchkit.release.submission_writers import write_submissions

    version = check_version(options.version)
    suite = catalog.load_suite(suite_ref)
    final = release_dir(options.releases_dir, suite.card.id, version)
    if final.exists() and not options.force:
        raise _exists(suite.card.id, version, final)
    data_dir = suite_data_dir(suite, options.data_dir)
    data = current_data(suite, data_dir)
    runs = collect_runs(options.runs_dir, suite, data, options.configs, options.where)
    for line in unchecked_card_records(runs):  # old records: accepted, their card content unknown
        warn(line)
    gold = load_gold(suite, runs, data_dir) if options.ci.resamples > 0 else None
    entries = summarize(suite, runs, gold, options.ci)
    forced = final.exists()
    if forced:
        warn(f"warning: --force: replacing the existing release {suite.card.id} {version} at {final}; anyone who "
             f"used it now holds a different release under the same version")

    taken = partial(_exists, suite.card.id, version, final,
                    " (created by another command while this one was building it)")
    with building_dir(final, replace=options.force, taken=taken) as work:
        created = datetime.now(UTC).replace(microsecond=0).isoformat()
        kit = manifest.kit_state()
        from benchkit.release.searches import link

        link(entries, options.runs_dir, suite.card.id, work)  # the searches behind the entries' recipes
        results.write(results.rows(entries), work)
        leaderboard.write(work, suite, entries, version, created, options.ci, kit)
        submissions = (write_submissions(suite, entries, data_dir, work / "submissions")
                       if options.submissions else [])
        datasheet.write(work, suite, version, data_dir, data, manifest.display_path(data_dir), runs, submissions)
        for info in submissions:
            if info.get("skipped"):
                warn(f"note: no {info['format']} submission for {info['entry']}: {info['skipped']}")
        copies = manifest.copy_runs(runs, work)  # the release carries its evidence: verifiable wherever copied
        cards = manifest.copy_cards(suite, work)  # and the cards it was built from
        dvc = manifest.dvc_state(Path.cwd(), exclude_outs=(manifest.display_path(final),))
        manifest.write(work, manifest.build(
            suite=suite, version=version, created=created, forced=forced, release_dir=final,
            data_dir=data_dir, runs_dir=options.runs_dir, data=data, runs=runs, entries=entries, ci=options.ci,
            submissions=submissions, kit=kit, dvc=dvc, copies=copies, cards=cards))
    return final


def _exists(suite_id: str, version: str, final: Path, how: str = "") -> ReleaseExists:
    return ReleaseExists(Problem(f"release {suite_id} {version} already exists{how}", file=str(final),
                                 field="--version", hint="releases are immutable: choose a new --version (or pass "
                                                         "--force to replace this one)"))
