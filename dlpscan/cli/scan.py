"""`dlpscan scan`: the batch scan of files and folders."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from dlpscan.cli.common import (
    CLUSTER_LOST,
    EXIT_CODES,
    UsageProblem,
    check_cluster,
    cli_config,
    glob_flags,
    open_store,
    shared_options,
)
from dlpscan.cli.output import FORMAT_HELP, known_formats
from dlpscan.config import ConfigError, resolve_key
from dlpscan.policy import PolicyError, load_policy


@click.command(epilog=EXIT_CODES)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("--output", "-o", help="Report file, or - for standard output (the default, except with -q).")
@click.option("--no-store", is_flag=True, help="Do not record results (no incremental rescans, no exposure).")
@click.option("--full", is_flag=True, help="Rescan every file, even unchanged ones.")
@click.option("--resume", is_flag=True, help="Continue the last interrupted scan of the same paths.")
@click.option("--fail-on-flag", is_flag=True, help="Exit 1 when any file is flagged (for scripts and CI).")
@click.option(
    "--new-only",
    is_flag=True,
    help="Report only files whose findings are new or grew since the last completed scan of the same "
    "paths (a baseline, as in detect-secrets or gitleaks).",
)
@click.option(
    "--since-scan", type=int, metavar="N", help="Like --new-only, against scan N (`dlpscan db scans`)."
)
@click.option(
    "--quiet", "-q", is_flag=True, help="No progress, no summary, no report on stdout unless --output -."
)
@shared_options
@click.pass_context
def scan(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    no_store: bool,
    full: bool,
    resume: bool,
    fail_on_flag: bool,
    new_only: bool,
    since_scan: int | None,
    quiet: bool,
    **flags: Any,
) -> None:
    """Scan files and folders: list flagged files in a terminal, one report line per file
    (archive members included) when piped or written to a file.

    Unchanged files (same size, mtime and inode, same recognizers and policy) are taken from
    the store without being read again; use --full to read everything.

    \b
    Examples:
      dlpscan scan /mnt/ops
      dlpscan scan /mnt/ops -o ops.jsonl
      dlpscan scan /srv/share --exclude '*.iso' -j 8 --policy courier --format csv -o share.csv
      dlpscan scan exports/ --fingerprint-key "$KEY" --fail-on-flag --quiet
      dlpscan scan repo/ --new-only --format sarif -o dlpscan.sarif
      dlpscan scan /mnt/share --cluster tcp://10.0.0.5:8786 --db postgresql://dlp@db/dlpscan
    """
    from dlpscan.forking import start_forkserver

    start_forkserver()  # workers' code loads on another core while this process gets ready
    from dlpscan.cli.output import ScanOutput
    from dlpscan.detect.categories import data_categories
    from dlpscan.detect.registry import DefinitionError, entity_types
    from dlpscan.runner import ScanJob, run_scan
    from dlpscan.settings import ScanSettings
    from dlpscan.ui import ScanProgress
    from dlpscan.walk import WalkOptions
    from dlpscan.workers import WorkerStartError

    if fmt is not None and fmt not in known_formats():
        raise UsageProblem(f"unknown --format {fmt!r}; known: {', '.join(known_formats())}")
    glob_flags(flags)
    config = cli_config(ctx, flags)
    check_cluster(config, storing=not no_store)
    try:
        store_types = entity_types(Path(d) for d in config.recognizer_dirs)
        categories = data_categories(Path(d) for d in config.recognizer_dirs)
        policy = load_policy(config.policy, [Path(d) for d in config.policy_dirs], store_types, categories)
        key, explicit_key = resolve_key(config, persist=not no_store)
        walk = WalkOptions.from_config(config)
    except (PolicyError, ConfigError, DefinitionError) as exc:
        raise UsageProblem(str(exc)) from None
    for p in paths:
        if not Path(p).exists() and not Path(p).is_symlink():
            raise UsageProblem(f"no such file or directory: {p}")
    try:
        settings = ScanSettings.from_config(config, key, explicit_key)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    job = ScanJob(
        roots=list(paths),
        walk=walk,
        settings=settings,
        policy=policy,
        jobs=config.jobs,
        file_timeout=config.file_timeout,
        worker_memory_bytes=config.worker_memory_mb * 1024 * 1024,
        nice=config.nice,
        full=full,
        resume=resume,
        stale_days=config.stale_days,
        cluster=config.cluster,
    )
    report = ScanOutput(fmt, output, quiet, explicit_key, (new_only, since_scan))
    with ExitStack() as stack:
        store = None if no_store else stack.enter_context(open_store(config, create=True))
        try:
            writers = report.open(stack, store_types, policy, store, job.roots)
        except OSError as exc:
            why = exc.strerror or type(exc).__name__
            raise UsageProblem(f"cannot write --output {output}: {why}") from None
        executor = _cluster_executor(stack, job, config, quiet) if config.cluster else None
        with ScanProgress(not quiet, report.progress_console) as progress:
            try:
                summary = run_scan(
                    job, store, writers, progress.update if progress.active else None, executor
                )
            except WorkerStartError as exc:
                raise UsageProblem(str(exc)) from None
            except Exception as exc:
                _cluster_failed(ctx, exc)
                raise
        report.finish(summary)
    if summary.interrupted:
        ctx.exit(130)
    problems = _store_problems(summary)
    for line in problems:
        click.echo(f"dlpscan: error: {line}", err=True)
    if problems:
        ctx.exit(3)
    if fail_on_flag and report.flagged(summary):
        ctx.exit(1)


def _cluster_executor(stack: ExitStack, job: Any, config: Any, quiet: bool) -> Any:
    """Connect to the cluster's scheduler and hand the scan's settings to its workers."""
    from dlpscan.cluster import ClusterError, DaskExecutor, WorkerLimits

    limits = WorkerLimits(job.settings, job.file_timeout, job.worker_memory_bytes, job.nice)
    try:
        executor = DaskExecutor(config.cluster, limits, config.cluster_batch_seconds)
    except ClusterError as exc:
        raise UsageProblem(str(exc)) from None
    stack.callback(executor.close)
    if not quiet:
        dashboard = executor.dashboard
        where = f"; dashboard {dashboard}" if dashboard else ""
        click.echo(f"dlpscan: cluster {config.cluster}: {executor.describe()}{where}", err=True)
    return executor


def _cluster_failed(ctx: click.Context, exc: Exception) -> None:
    """A cluster lost mid-scan (its own exit code) or unusable (2); the store holds what finished."""
    try:
        from dlpscan.cluster import ClusterError, ClusterLost
    except ImportError:
        return
    if isinstance(exc, ClusterLost):
        click.echo(
            f"dlpscan: error: {exc}; finished files are stored, rerun with --resume to continue", err=True
        )
        ctx.exit(CLUSTER_LOST)
    if isinstance(exc, ClusterError):
        raise UsageProblem(f"{exc}; finished files are stored, rerun with --resume to continue") from None


def _store_problems(summary: Any) -> list[str]:
    """What the results store is missing; the report itself is complete in every case."""
    out = []
    if summary.store_error:
        out.append(
            f"results store not fully written ({summary.store_error}); the report is complete, "
            "rerun the scan to store the results"
        )
    if summary.given_up:
        out.append(f"{summary.given_up} results were given up while the store was unavailable")
    if summary.unstored:
        shown = "; ".join(summary.unstored[:5])
        more = f" (and {len(summary.unstored) - 5} more)" if len(summary.unstored) > 5 else ""
        out.append(f"the results store refused {len(summary.unstored)} result(s): {shown}{more}")
    return out
