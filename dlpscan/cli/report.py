"""`dlpscan report`: the compliance report for auditors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dlpscan.cli.common import UsageProblem, cli_config, open_store

DATE_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


@click.command()
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.option("--scan", "scan_id", type=int, help="Report on this scan id (see `dlpscan db scans`).")
@click.option(
    "--since",
    type=click.DateTime(DATE_FORMATS),
    help="The period starts at this local date (or date and time); the trend starts there.",
)
@click.option(
    "--until", type=click.DateTime(DATE_FORMATS), help="The period ends before this local date (or time)."
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
    until: Any,
    policy: str | None,
    fmt: str,
    output: str,
    lang: str,
    pdf_rows: int,
) -> None:
    """Compliance report: scope, summary, legal mapping (法释〔2017〕10号, PIPL, industry standards),
    cumulative exposure, trend, findings, coverage gaps, remediation, methodology.

    The scope: --scan N; else, in the period (--since/--until, default: all time), the latest
    completed scan together with what the watch daemon recorded since it started, or what the
    daemon recorded in the period when no scan completed in it. Shows counts and masked samples
    only, never raw values or fingerprints.

    \b
    Examples:
      dlpscan report --format html --output audit.html
      dlpscan report --scan 12 --format pdf --output audit.pdf --lang zh
      dlpscan report --since 2024-03-01 --policy judicial-2017 --format xlsx -o findings.xlsx
      dlpscan report --since 2024-03-01 --until 2024-04-01 --format html -o march.html
    """
    if scan_id is not None and (since is not None or until is not None):
        raise UsageProblem("give --scan or a period (--since, --until), not both")
    config = cli_config(ctx, {"db": db_url})
    from dlpscan.report import Options, ReportError, write_report

    options = Options(
        scan_id=scan_id,
        since=since.timestamp() if since is not None else None,
        until=until.timestamp() if until is not None else None,
        policy=policy,
        fallback_policy=config.policy,
        policy_dirs=tuple(Path(d) for d in config.policy_dirs),
        recognizer_dirs=tuple(Path(d) for d in config.recognizer_dirs),
    )
    if not Path(output).parent.is_dir():
        raise UsageProblem(f"no such folder for --output: {Path(output).parent}")
    with open_store(config) as store:
        try:
            data = write_report(store, fmt, Path(output), options, lang, pdf_rows or None)
        except ReportError as exc:
            raise UsageProblem(str(exc)) from None
        except OSError as exc:
            raise UsageProblem(f"cannot write {output}: {exc.strerror or exc}") from None
    if data.watch_only:
        scope = f"{len(data.sessions)} watch session(s)"
    else:
        scope = f"scan {data.scan['id']}" + (
            f" + {len(data.sessions)} watch session(s)" if data.sessions else ""
        )
    click.echo(
        f"{output}: {scope}, {len(data.findings):,} flagged files, "
        f"{data.people:,} distinct people, {sum(data.gap_counts.values()):,} files not read",
        err=True,
    )
