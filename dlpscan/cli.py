"""The `dlpscan` command line: thin wrappers that parse options and call the library.

Exit codes: 0 done, 1 something was flagged and --fail-on-flag was given, 2 usage or
configuration error, 3 the scan finished but the results store could not be written (the report
is complete), 130 interrupted (the store stays consistent; rerun with --resume).
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from dlpscan import __version__
from dlpscan.config import Config, ConfigError, load_config, resolve_key
from dlpscan.logs import setup_logging
from dlpscan.policy import PolicyError, builtin_policies, check_policy_file, load_policy


class UsageProblem(click.ClickException):
    """A configuration or usage problem: one clear line, exit code 2."""

    exit_code = 2


def _config(ctx: click.Context, flags: dict[str, Any]) -> Config:
    path = ctx.find_root().params.get("config")
    try:
        config, _ = load_config(Path(path) if path else None, flags)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    setup_logging(config.log_level, config.log_format)
    return config


def _open_store(config: Config):
    from dlpscan.store import Store

    try:
        return Store.open(config.db)
    except Exception as exc:
        raise UsageProblem(f"cannot open the results store: {type(exc).__name__}: {exc}") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--config", type=click.Path(dir_okay=False), help="TOML config file (default: ./dlpscan.toml).")
@click.version_option(__version__, prog_name="dlpscan")
def main(config: str | None) -> None:
    """Find bulk Chinese personal data (ID numbers, phones, bank cards, names, addresses) in files.

    \b
    Examples:
      dlpscan scan /mnt/ops --format jsonl --output report.jsonl
      dlpscan scan share/ --policy judicial-2017 --fail-on-flag
      dlpscan db exposure --by owner
      dlpscan report --format html --output audit.html
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "csv", "table"]),
    default="jsonl",
    show_default=True,
    help="jsonl: the stable report contract; csv: one row per file; table: summary only.",
)
@click.option("--output", "-o", default="-", show_default=True, help="Report file, or - for standard output.")
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
@click.option("--quiet", "-q", is_flag=True, help="No progress display or summary.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log format on stderr.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
@click.pass_context
def scan(
    ctx: click.Context,
    paths: tuple[str, ...],
    fmt: str,
    output: str,
    no_store: bool,
    full: bool,
    resume: bool,
    fail_on_flag: bool,
    quiet: bool,
    **flags: Any,
) -> None:
    """Scan files and folders; one report line per file (archive members included).

    Unchanged files (same size, mtime and inode, same recognizers and policy) are taken from
    the store without being read again; use --full to read everything.

    \b
    Examples:
      dlpscan scan /mnt/ops -o ops.jsonl
      dlpscan scan /srv/share --exclude '*.iso' -j 8 --policy courier --format csv -o share.csv
      dlpscan scan exports/ --fingerprint-key "$KEY" --fail-on-flag --quiet
    """
    from dlpscan.pipeline import ScanSettings
    from dlpscan.runner import ScanJob, run_scan
    from dlpscan.sinks.files import CsvWriter, JsonlWriter
    from dlpscan.ui import ScanProgress, print_summary
    from dlpscan.walk import WalkOptions

    flags["include"] = list(flags["include"]) or None
    flags["exclude"] = list(flags["exclude"]) or None
    config = _config(ctx, flags)
    try:
        policy = load_policy(config.policy, [Path(d) for d in config.policy_dirs])
        key, explicit_key = resolve_key(config)
    except (PolicyError, ConfigError) as exc:
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
    with ExitStack() as stack:
        writers = []
        if fmt != "table":
            stream = sys.stdout if output == "-" else stack.enter_context(open(output, "w", encoding="utf-8"))
            writers.append(JsonlWriter(stream, explicit_key) if fmt == "jsonl" else CsvWriter(stream))
        store = None if no_store else stack.enter_context(_open_store(config))
        progress = stack.enter_context(ScanProgress(enabled=not quiet))
        summary = run_scan(job, store, writers, progress.update if progress.active else None)
    if not quiet or fmt == "table":
        print_summary(summary, to_stdout=fmt == "table")
    if summary.interrupted:
        ctx.exit(130)
    if summary.store_error:
        click.echo(
            f"dlpscan: error: results store not fully written ({summary.store_error}); "
            "the report is complete, rerun the scan to store the results",
            err=True,
        )
        ctx.exit(3)
    if fail_on_flag and summary.flagged:
        ctx.exit(1)


@main.group()
def policy() -> None:
    """Inspect and validate policies."""


@policy.command("list")
def policy_list() -> None:
    """List the shipped policies."""
    for name in builtin_policies():
        p = load_policy(name)
        click.echo(f"{name:15} {p.version}  {p.description.splitlines()[0] if p.description else ''}")


@policy.command("check")
@click.argument("file", type=click.Path(dir_okay=False))
def policy_check(file: str) -> None:
    """Validate a policy YAML file; prints one clear message and exits 2 when it is invalid.

    \b
    Example:
      dlpscan policy check my-policy.yaml
    """
    try:
        p = check_policy_file(Path(file))
    except PolicyError as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"{file}: ok (policy {p.name}, version {p.version}, {len(p.rules)} rules)")


@main.group("config")
def config_group() -> None:
    """Show the effective configuration."""


@config_group.command("show")
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print the effective config (file + DLPSCAN_* environment) as JSON; the key is hidden."""
    config = _config(ctx, {})
    data = config.model_dump()
    if data.get("fingerprint_key"):
        data["fingerprint_key"] = "(set)"
    if data.get("watch", {}).get("webhook_secret"):
        data["watch"]["webhook_secret"] = "(set)"
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@main.group()
def db() -> None:
    """Query the results store."""


@db.command("exposure")
@click.option(
    "--by", type=click.Choice(["owner", "folder"]), required=True, help="Group files by owner or folder."
)
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.option("--top", type=int, default=20, show_default=True, help="Show the N most exposed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def db_exposure(ctx: click.Context, by: str, db_url: str | None, top: int, as_json: bool) -> None:
    """Distinct people per owner or folder across all files of the latest scan.

    The law counts records cumulatively: 40 files of 30 people each in one folder are 1,200
    people. Policy scope rules (folder/owner) are applied to these totals.

    \b
    Example:
      dlpscan db exposure --by folder --top 10
    """
    from dlpscan.policy import evaluate_scope
    from dlpscan.ui import print_exposure

    config = _config(ctx, {"db": db_url})
    p = load_policy(config.policy, [Path(d) for d in config.policy_dirs])
    with _open_store(config) as store:
        rows = store.exposure(by, top=top)
    hits = {r.key: evaluate_scope(p, by, r.key, r.people, r.per_type) for r in rows}
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "key": r.key,
                        "files": r.files,
                        "flagged_files": r.flagged_files,
                        "people": r.people,
                        "per_type": r.per_type,
                        "rules": [h.rule for h in hits[r.key]],
                    }
                    for r in rows
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print_exposure(by, rows, hits)


@db.command("scans")
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.option("--limit", type=int, default=20, show_default=True)
@click.pass_context
def db_scans(ctx: click.Context, db_url: str | None, limit: int) -> None:
    """List recent scans with their status and counts."""
    config = _config(ctx, {"db": db_url})
    with _open_store(config) as store:
        for s in store.scans(limit):
            click.echo(json.dumps(s, ensure_ascii=False, default=str))


@main.command()
@click.argument("path")
@click.option(
    "--status", type=click.Choice(["open", "resolved", "false-positive", "accepted"]), required=True
)
@click.option("--note", default="", help="Why: ticket number, who was told, what was done.")
@click.option("--who", envvar="USER", default="unknown", show_default="$USER", help="Who decided.")
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.pass_context
def triage(ctx: click.Context, path: str, status: str, note: str, who: str, db_url: str | None) -> None:
    """Record remediation status of a reported file (shown in reports).

    A false-positive mark carries over to later scans while the file is unchanged.

    \b
    Example:
      dlpscan triage shares/ops/waybills.xlsx --status resolved --note "deleted, ticket SEC-42"
    """
    config = _config(ctx, {"db": db_url})
    with _open_store(config) as store:
        store.triage(path, status, note, who)
    click.echo(f"{path}: {status}")


@main.group()
def recognizers() -> None:
    """Inspect the recognizer definitions."""


@recognizers.command("list")
def recognizers_list() -> None:
    """List entity types with their validators and patterns."""
    from dlpscan.detect.registry import load_definitions

    for d in load_definitions():
        click.echo(
            f"{d.entity:20} validator={d.validator or '-':20} patterns={','.join(p.name for p in d.patterns)}"
        )


@main.command()
@click.argument("roots", nargs=-1, type=click.Path())
@click.option("--db", help="Results store: a SQLite path or postgresql://... URL (default: per-user SQLite).")
@click.option("--policy", help="Policy name or YAML file (default: default).")
@click.option("-j", "--jobs", type=int, help="Worker processes (default: number of CPUs).")
@click.option(
    "--include", multiple=True, help="Only watch paths matching this glob (repeatable), as in scan."
)
@click.option("--exclude", multiple=True, help="Ignore paths matching this glob (repeatable), as in scan.")
@click.option(
    "--settle", "settle_seconds", type=float, help="Seconds a file must stay unchanged (default 5)."
)
@click.option(
    "--polling/--native", default=None, help="Poll for changes (network mounts) instead of inotify."
)
@click.option("--poll-interval", type=float, help="Seconds between polls with --polling (default 10).")
@click.option("--alert-log", help="Append alerts as JSON lines to this file.")
@click.option("--syslog", help="Send alerts as RFC 5424 syslog: udp://host:514, tcp://host:514 or /dev/log.")
@click.option(
    "--webhook-url", help="POST alerts here, signed with $DLPSCAN_WEBHOOK_SECRET (or the config's)."
)
@click.option("--metrics-port", type=int, help="Serve Prometheus metrics on 127.0.0.1:PORT.")
@click.option("--no-catch-up", is_flag=True, help="Skip the start-up pass over files changed while stopped.")
@click.option("--log-format", type=click.Choice(["text", "json"]), help="Log format on stderr.")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"]))
@click.pass_context
def watch(ctx: click.Context, roots: tuple[str, ...], no_catch_up: bool, **flags: Any) -> None:
    """Watch folders and scan files as they are written; alert on flagged ones.

    Runs until SIGTERM (finishes the files in progress, exits 0); SIGHUP reloads the config and
    policies. Uses the same pipeline, store and policies as `scan`; see docs/watch.md.

    \b
    Examples:
      dlpscan watch /srv/share --alert-log /var/log/dlpscan/alerts.jsonl
      dlpscan --config /etc/dlpscan/dlpscan.toml watch
    """
    from dlpscan.watch.daemon import run_daemon

    watch_keys = (
        "settle_seconds",
        "polling",
        "poll_interval",
        "alert_log",
        "syslog",
        "webhook_url",
        "metrics_port",
    )
    watch_flags = {k: flags.pop(k) for k in watch_keys}
    watch_flags["roots"] = list(roots) or None
    watch_flags["catch_up"] = False if no_catch_up else None
    flags["include"] = list(flags["include"]) or None
    flags["exclude"] = list(flags["exclude"]) or None
    _config(ctx, flags)
    try:
        code = run_daemon(ctx.find_root().params.get("config"), flags, watch_flags)
    except (ConfigError, PolicyError) as exc:
        raise UsageProblem(str(exc)) from None
    ctx.exit(code)


@main.command()
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.option("--events", type=int, default=10, show_default=True, help="How many recent events to show.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def status(ctx: click.Context, db_url: str | None, events: int, as_json: bool) -> None:
    """Show the watch daemon's queue depth, alert backlog, last events and problems (from the store).

    Works while the daemon runs.

    \b
    Example:
      dlpscan --config /etc/dlpscan/dlpscan.toml status
    """
    from dlpscan.watch.status import collect, render

    config = _config(ctx, {"db": db_url})
    with _open_store(config) as store:
        state = collect(store, events)
    click.echo(json.dumps(state, ensure_ascii=False, indent=2, default=str) if as_json else render(state))


@main.command()
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.option("--scan", "scan_id", type=int, help="Report on this scan id (see `dlpscan db scans`).")
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    help="Report on the latest completed scan started at or after this local date; the trend starts there.",
)
@click.option(
    "--policy", help="Re-evaluate every file under this policy (default: the decisions the scan recorded)."
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf", "csv", "xlsx"]),
    required=True,
    help="html: one self-contained page; pdf: the same, print-ready; csv/xlsx: one row per file.",
)
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False), help="Report file to write.")
@click.option(
    "--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True, help="Report language."
)
@click.option(
    "--pdf-rows",
    type=click.IntRange(min=0),
    default=500,
    show_default=True,
    help="PDF only: list at most this many files per table, most severe first (0: all; slow).",
)
@click.pass_context
def report(
    ctx: click.Context,
    db_url: str | None,
    scan_id: int | None,
    since: Any,
    policy: str | None,
    fmt: str,
    output: str,
    lang: str,
    pdf_rows: int,
) -> None:
    """Compliance report of a scan: scope, summary, legal mapping (法释〔2017〕10号, PIPL, industry
    standards), cumulative exposure, trend, findings, coverage gaps, remediation, methodology.

    Shows counts and masked samples only, never raw values or fingerprints.

    \b
    Examples:
      dlpscan report --format html --output audit.html
      dlpscan report --scan 12 --format pdf --output audit.pdf --lang zh
      dlpscan report --since 2024-03-01 --policy judicial-2017 --format xlsx -o findings.xlsx
    """
    if scan_id is not None and since is not None:
        raise UsageProblem("give --scan or --since, not both")
    config = _config(ctx, {"db": db_url})
    from dlpscan.report import Options, ReportError, write_report

    options = Options(
        scan_id=scan_id,
        since=since.timestamp() if since is not None else None,
        policy=policy,
        fallback_policy=config.policy,
        policy_dirs=tuple(Path(d) for d in config.policy_dirs),
        recognizer_dirs=tuple(Path(d) for d in config.recognizer_dirs),
    )
    if not Path(output).parent.is_dir():
        raise UsageProblem(f"no such folder for --output: {Path(output).parent}")
    with _open_store(config) as store:
        try:
            data = write_report(store, fmt, Path(output), options, lang, pdf_rows or None)
        except ReportError as exc:
            raise UsageProblem(str(exc)) from None
        except OSError as exc:
            raise UsageProblem(f"cannot write {output}: {exc.strerror or exc}") from None
    click.echo(
        f"{output}: scan {data.scan['id']}, {len(data.findings):,} flagged files, "
        f"{data.people:,} distinct people, {sum(data.gap_counts.values()):,} files not read",
        err=True,
    )


if __name__ == "__main__":
    main()
