"""The ``benchkit`` command line (L7): it orchestrates the layers below and owns no logic of its own.

``app`` holds the command group and what every command shares; each other module adds one family of commands:
``data`` (ls, show, validate), ``run`` (run, predict; "run, then release" lives here), ``score``, ``release``
(release, prepare, dvc, publish), ``new`` (new suite, new task), ``search``, ``submissions`` (the hosted
leaderboard). Click only at import; every heavy import is inside a command.
"""

from __future__ import annotations

from benchkit.cli import data, run, score  # noqa: F401  (each adds its commands to main at import)
from benchkit.cli.app import main
from benchkit.cli.new import new_group
from benchkit.cli.release import register
from benchkit.cli.search import search_command
from benchkit.cli.submissions import submissions_group

register(main)
main.add_command(new_group)
main.add_command(submissions_group)
main.add_command(search_command)

__all__ = ["main"]
