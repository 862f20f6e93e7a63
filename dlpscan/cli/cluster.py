"""`dlpscan cluster up`: a Dask scheduler and workers on this host, for `dlpscan scan --cluster`."""

from __future__ import annotations

import os
import signal
import threading

import click

from dlpscan.cli.common import UsageProblem


@click.group()
def cluster() -> None:
    """Run a Dask cluster that `dlpscan scan --cluster` hands files to (docs/cluster.md).

    On several hosts, run `dask scheduler` on one and `dask worker tcp://HOST:8786` on each of the
    others (service/dlpscan-scheduler.service, service/dlpscan-worker.service).
    """


@cluster.command()
@click.option("--workers", "-w", type=click.IntRange(1), help="Worker processes (default: number of CPUs).")
@click.option(
    "--threads",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Threads per worker; each reads files in a bounded child process of its own.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0), default=8786, show_default=True, help="Scheduler port.")
@click.option(
    "--dashboard-port",
    type=click.IntRange(0),
    default=8787,
    show_default=True,
    help="Dashboard port (it needs bokeh, in the cluster extra).",
)
def up(workers: int | None, threads: int, host: str, port: int, dashboard_port: int) -> None:
    """Start a scheduler and worker processes on this host; they run until Ctrl-C or SIGTERM.

    \b
    Example:
      dlpscan cluster up --workers 4 --host 0.0.0.0
      dlpscan scan /mnt/share --cluster tcp://THIS-HOST:8786 --db postgresql://dlp@db/dlpscan
    """
    try:
        from distributed import LocalCluster
    except ImportError:
        raise UsageProblem("`cluster up` needs the cluster extra: pip install 'dlpscan[cluster]'") from None
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        local = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=threads,
            processes=True,
            host=host,
            scheduler_port=port,
            dashboard_address=f"{host}:{dashboard_port}",
        )
    except OSError as exc:
        raise UsageProblem(f"cannot start the cluster on {host}:{port}: {exc.strerror or exc}") from None
    with local:
        click.echo(f"scheduler {local.scheduler_address}", err=True)
        click.echo(f"dashboard {local.dashboard_link}", err=True)
        click.echo(f"workers {len(local.workers)} × {threads} threads; Ctrl-C stops them", err=True)
        while not stop.wait(1.0):
            pass
