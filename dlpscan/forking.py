"""The process that scan workers fork from, started early with the scanning code imported in it.

Started at the top of a command, it imports the detection code on another core while the command
loads its own settings and store; each worker then forks ready in milliseconds instead of importing
it again (about half a second per worker, before the first byte of the first file).
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing import forkserver

# By name: importing them here would cost the time this saves. `detect.warm` reads the definitions and
# reference tables that every worker needs before its first file.
WORKER_MODULES = ["dlpscan.workers", "dlpscan.pipeline", "dlpscan.detect.warm"]


def start_forkserver() -> None:
    """Start the fork server (once per process; later calls do nothing) with WORKER_MODULES loaded."""
    mp.set_forkserver_preload(WORKER_MODULES)
    forkserver.ensure_running()
