"""`dlpscan watch` (the daemon) and `dlpscan status` (its state, read from the store)."""

from __future__ import annotations

import json
from typing import Any

import click

from dlpscan.cli.common import (
    UsageProblem,
    check_cluster,
    cli_config,
    glob_flags,
    open_store,
    shared_options,
)
from dlpscan.config import ConfigError
from dlpscan.policy import PolicyError


@click.command()
@click.argument("roots", nargs=-1, type=click.Path())
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
@shared_options
@click.pass_context
def watch(ctx: click.Context, roots: tuple[str, ...], no_catch_up: bool, **flags: Any) -> None:
    """Watch folders and scan files as they are written; alert on flagged ones.

    Runs until SIGTERM (finishes the files in progress, exits 0, or 3 with the results store
    unavailable); SIGHUP reloads the config and policies. Uses the same pipeline, store and
    policies as `scan`; see docs/watch.md.

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
    glob_flags(flags)
    check_cluster(cli_config(ctx, flags))
    try:
        code = run_daemon(ctx.find_root().params.get("config"), flags, watch_flags)
    except (ConfigError, PolicyError) as exc:
        raise UsageProblem(str(exc)) from None
    ctx.exit(code)


@click.command()
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

    config = cli_config(ctx, {"db": db_url})
    with open_store(config) as store:
        state = collect(store, events)
    click.echo(json.dumps(state, ensure_ascii=False, indent=2, default=str) if as_json else render(state))
