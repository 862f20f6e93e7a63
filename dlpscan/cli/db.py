"""`dlpscan db` (queries of the results store) and `dlpscan triage` (remediation status)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click
from rich.console import Console

from dlpscan.cli.common import UsageProblem, cli_config, open_store
from dlpscan.policy import load_policy


@click.group()
def db() -> None:
    """Query the results store."""


@db.command("exposure")
@click.option(
    "--by",
    type=click.Choice(["owner", "folder", "access", "category"]),
    required=True,
    help="Group files by owner, by folder, by who can read them (access level and principal), or by "
    "legal data category.",
)
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.option("--top", type=int, default=20, show_default=True, help="Show the N most exposed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def db_exposure(ctx: click.Context, by: str, db_url: str | None, top: int, as_json: bool) -> None:
    """Distinct people per owner, folder or access across all files of the latest scan, or distinct
    people and records per legal data category (lodging, call records, credit …).

    The law counts records cumulatively: 40 files of 30 people each in one folder are 1,200
    people. Policy scope rules (folder/owner) are applied to these totals, the categories'
    distinct people and records included. `--by access` groups files by who can read them
    (`public other`, `organisation group:users`, …), widest first.

    \b
    Examples:
      dlpscan db exposure --by folder --top 10
      dlpscan db exposure --by access
      dlpscan db exposure --by category
    """
    from dlpscan.detect.categories import data_categories
    from dlpscan.detect.registry import DefinitionError
    from dlpscan.policy import PolicyError, evaluate_scope
    from dlpscan.ui import print_category_exposure, print_exposure

    config = cli_config(ctx, {"db": db_url})
    with open_store(config) as store:
        if by == "category":
            totals = store.category_exposure()[:top]
        else:
            try:
                p = load_policy(
                    config.policy,
                    [Path(d) for d in config.policy_dirs],
                    store.types,
                    data_categories(Path(d) for d in config.recognizer_dirs),
                )
            except (PolicyError, DefinitionError) as exc:
                raise UsageProblem(str(exc)) from None
            rows = store.exposure(by, top=top)
    if by == "category":
        if as_json:
            keys = ("category", "files", "people", "records")
            click.echo(
                json.dumps([dict(zip(keys, t, strict=True)) for t in totals], ensure_ascii=False, indent=2)
            )
        else:
            print_category_exposure(totals)
        return
    scoped = by in ("owner", "folder")
    hits = {
        r.key: evaluate_scope(p, by, r.key, r.people, r.per_type, r.edm_rows, categories=r.category_counts())
        if scoped
        else []
        for r in rows
    }
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
                        "edm_rows": r.edm_rows,
                        "edm_high": r.edm_high,
                        "categories": {
                            c: {"people": people, "records": records, "basis": r.basis.get(c, [])}
                            for c, (people, records) in r.categories.items()
                            if c != "any"
                        },
                        "rules": [h.rule for h in hits[r.key]],
                    }
                    | ({} if scoped else dict(zip(("level", "principal"), r.key.split(" ", 1), strict=True)))
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
@click.option("--json", "as_json", is_flag=True, help="One JSON object per scan instead of a table.")
@click.pass_context
def db_scans(ctx: click.Context, db_url: str | None, limit: int, as_json: bool) -> None:
    """List recent scans and watch sessions with their status and counts."""
    from dlpscan.ui import print_scans

    config = cli_config(ctx, {"db": db_url})
    with open_store(config) as store:
        scans = store.scans(limit)
    if as_json:
        for s in scans:
            click.echo(json.dumps(s, ensure_ascii=False, default=str))
    else:
        print_scans(scans)


@db.command("files")
@click.option("--db", "db_url", help="Results store (default: per-user SQLite).")
@click.option(
    "--scan", "scan_id", type=int, help="Only files seen in this scan (default: every file the store holds)."
)
@click.option(
    "--severity", type=click.Choice(["low", "medium", "high", "critical"]), help="This severity or worse."
)
@click.option("--folder", help="Only files under this folder (as scanned, or its absolute path).")
@click.option("--owner", help="Only files of this owner ('(unknown)': files without one).")
@click.option("--all", "everything", is_flag=True, help="Also files that are not flagged.")
@click.option(
    "--exposure",
    type=click.Choice(["owner", "group", "organisation", "public"]),
    help="Only files readable at least this widely (docs/exposure.md).",
)
@click.option("--by-risk", is_flag=True, help="Highest risk (severity x exposure) first.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True, help="0: all.")
@click.option("--json", "as_json", is_flag=True, help="One JSON report line per file (no fingerprints).")
@click.pass_context
def db_files(
    ctx: click.Context,
    db_url: str | None,
    scan_id: int | None,
    severity: str | None,
    folder: str | None,
    owner: str | None,
    everything: bool,
    exposure: str | None,
    by_risk: bool,
    limit: int,
    as_json: bool,
) -> None:
    """Files the store holds, most severe first: people, records and the deciding rule; per type the
    distinct values, confidence, a masked sample and where they are. Flagged files only unless --all.

    \b
    Examples:
      dlpscan db files --severity high
      dlpscan db files --folder /srv/share/hr --owner alice --all
      dlpscan db files --scan 12 --json > scan-12.jsonl
      dlpscan db files --exposure organisation --by-risk
    """
    from dlpscan.listing import file_block
    from dlpscan.sinks.report_line import report_line
    from dlpscan.store import FileQuery
    from dlpscan.walk import root_key

    config = cli_config(ctx, {"db": db_url})
    query = FileQuery(
        scan_id=scan_id,
        min_severity=severity,
        folders=(folder, os.path.abspath(folder), root_key(folder)) if folder else (),
        owner=owner,
        flagged_only=not everything,
        min_exposure=exposure,
        by_risk=by_risk,
        limit=limit or None,
    )
    with open_store(config) as store:
        found, total = store.find_files(query)
        types = store.types
    if as_json:
        for r in found:
            click.echo(json.dumps(report_line(r, include_fingerprints=False), ensure_ascii=False))
        return
    console = Console()
    what = "files" if everything else "flagged files"
    console.print(f"{total:,} {what}" + (f" in scan {scan_id}" if scan_id else "") + ", most severe first\n")
    for r in found:
        console.print(file_block(r, r.path, types))
    if total > len(found):
        console.print(f"{total - len(found):,} more: --limit 0 lists all, --json for a file.", style="dim")


@click.command()
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
    config = cli_config(ctx, {"db": db_url})
    with open_store(config) as store:
        stored = _stored_path(store, path)
        store.triage(stored, status, note, who)
    click.echo(f"{stored}: {status}")


def _stored_path(store, path: str) -> str:
    """The store's key of a path given as stored, relative to the current folder, or relative to a
    scanned root (as reports show paths); archive members as `outer.zip!member`."""
    from dlpscan.walk import store_key

    outer, sep, member = path.partition("!")
    candidates = [path, store_key(outer) + sep + member]
    if not Path(outer).is_absolute():
        roots = {root for scan in store.scans() for root in scan["roots"]}
        candidates += [str(Path(root, outer)) + sep + member for root in sorted(roots)]
    found = store.known_paths(list(dict.fromkeys(candidates)))
    if not found:
        raise UsageProblem(f"not in the results store: {path} (give the path a scan or report showed)")
    if len(found) > 1:
        raise UsageProblem(f"{path} is ambiguous: {', '.join(found)}; give one of these")
    return found[0]
