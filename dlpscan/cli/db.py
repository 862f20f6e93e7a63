"""`dlpscan db` (queries of the results store) and `dlpscan triage` (remediation status)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dlpscan.cli.common import UsageProblem, cli_config, open_store
from dlpscan.policy import load_policy


@click.group()
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

    config = cli_config(ctx, {"db": db_url})
    with open_store(config) as store:
        p = load_policy(config.policy, [Path(d) for d in config.policy_dirs], store.types)
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
    config = cli_config(ctx, {"db": db_url})
    with open_store(config) as store:
        for s in store.scans(limit):
            click.echo(json.dumps(s, ensure_ascii=False, default=str))


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
