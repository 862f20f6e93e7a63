"""The `dlpscan` executable: starts the scan workers' fork server first, then loads the command line.

Loading the command line takes most of a second; for the commands that read files (`scan`, `watch`)
the fork server imports the detection code on the other core meanwhile, so a small scan does not pay
for both one after the other.
"""

from __future__ import annotations

import gc
import sys

from dlpscan.forking import start_forkserver

READING_COMMANDS = frozenset({"scan", "watch"})
_ROOT_OPTIONS_WITH_VALUE = frozenset({"--config"})


def command_name(argv: list[str]) -> str | None:
    """The subcommand in `argv` (the arguments after the program), skipping the root's options."""
    args = iter(argv)
    for arg in args:
        if arg in _ROOT_OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def main() -> None:
    if command_name(sys.argv[1:]) in READING_COMMANDS:
        start_forkserver()
    from dlpscan.cli import main as cli

    try:
        cli()
    finally:
        # The interpreter's shutdown walks every object looking for cycles, about 0.2 s after a command
        # that loaded the store and the definitions; the process is ending, so that walk is skipped.
        gc.freeze()
