"""`dlpscan scan`: the batch scan of files and folders."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from dlpscan.cli.common import UsageProblem, cli_config, open_store
from dlpscan.cli.output import FORMAT_HELP, known_formats
from dlpscan.config import ConfigError, resolve_key
from dlpscan.policy import PolicyError, load_policy


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "fmt", help=FORMAT_HELP)
@click.option("--output", "-o", help="Report file, or - for standard output (the default, except with -q).")
@click.option(
    "--fingerprint-key",
    help="HMAC key for fingerprints (also DLPSCAN_FINGERPRINT_KEY). "
    "Given: reports carry fingerprints. Not given: a stored per-machine key is used for the store only.",
)
@click.option("--policy", help="Policy name (default, judicial-2017, bank, telecom, courier) or YAML file.")
@click.option("--db", help="Results store: a SQLite path or postgresql://... URL (default: per-user SQLite).")
@click.option("--no-store", is_flag=True, help="Do not record results (no incremental rescans, no exposure).")
@click.option("-j", "--jobs", type=int, help="Worker processes (default: number of CPUs).")
@click.option(
    "--file-timeout", type=float, help="Seconds allowed per file before it is skipped (default 300)."
)
@click.option(
    "--max-file-size", "max_file_mb", type=int, help="Skip files larger than this many MB (default 2048)."
)
@click.option("--include", multiple=True, help="Only scan paths matching this glob (repeatable).")
@click.option(
    "--exclude", multiple=True, help="Skip paths matching this glob (repeatable), e.g. '*.iso' or '.git/'."
)
@click.option(
    "--follow-symlinks/--no-follow-symlinks", default=None, help="Follow symbolic links (off by default)."
)
@click.option(
    "--one-file-system", is_flag=True, default=None, help="Do not cross into other mounted filesystems."
)
@click.option("--full", is_flag=True, help="Rescan every file, even unchanged ones.")
@click.option(
    "--content-hash",
    is_flag=True,
    default=None,
    help="Also compare a SHA-256 of each file's bytes to decide that it is unchanged "
    "(catches edits that keep size and mtime; costs one extra read of unchanged files).",
)
@click.option("--resume", is_flag=True, help="Continue the last interrupted scan of the same paths.")
@click.option(
    "--engine", type=click.Choice(["auto", "hyperscan", "re"]), help="Pattern engine (default auto)."
)
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
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log format on stderr.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
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
    """
    from dlpscan.cli.output import ScanOutput
    from dlpscan.detect.registry import DefinitionError, entity_types
    from dlpscan.pipeline import ScanSettings
    from dlpscan.runner import ScanJob, run_scan
    from dlpscan.ui import ScanProgress
    from dlpscan.walk import WalkOptions

    if fmt is not None and fmt not in known_formats():
        raise UsageProblem(f"unknown --format {fmt!r}; known: {', '.join(known_formats())}")
    flags["include"] = list(flags["include"]) or None
    flags["exclude"] = list(flags["exclude"]) or None
    config = cli_config(ctx, flags)
    try:
        store_types = entity_types(Path(d) for d in config.recognizer_dirs)
        policy = load_policy(config.policy, [Path(d) for d in config.policy_dirs], store_types)
        key, explicit_key = resolve_key(config)
    except (PolicyError, ConfigError, DefinitionError) as exc:
        raise UsageProblem(str(exc)) from None
    for p in paths:
        if not Path(p).exists() and not Path(p).is_symlink():
            raise UsageProblem(f"no such file or directory: {p}")
    settings = ScanSettings.from_config(config, key, explicit_key)
    job = ScanJob(
        roots=list(paths),
        walk=WalkOptions.from_config(config),
        settings=settings,
        policy=policy,
        jobs=config.jobs,
        file_timeout=config.file_timeout,
        worker_memory_bytes=config.worker_memory_mb * 1024 * 1024,
        nice=config.nice,
        full=full,
        resume=resume,
    )
    report = ScanOutput(fmt, output, quiet, explicit_key, (new_only, since_scan))
    with ExitStack() as stack:
        store = None if no_store else stack.enter_context(open_store(config))
        writers = report.open(stack, store_types, policy, store, job.roots)
        with ScanProgress(not quiet, report.progress_console) as progress:
            summary = run_scan(job, store, writers, progress.update if progress.active else None)
        report.finish(summary)
    if summary.interrupted:
        ctx.exit(130)
    if summary.store_error:
        click.echo(
            f"dlpscan: error: results store not fully written ({summary.store_error}); "
            "the report is complete, rerun the scan to store the results",
            err=True,
        )
        ctx.exit(3)
    if fail_on_flag and report.flagged(summary):
        ctx.exit(1)
