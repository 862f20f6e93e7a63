"""The `dlpscan` command line: thin wrappers that parse options and call the library.

Exit codes: `common.EXIT_CODES` (shown by --help).
"""

from __future__ import annotations

import click

from dlpscan import __version__
from dlpscan.cli.admin import config_group, policy, recognizers
from dlpscan.cli.cluster import cluster
from dlpscan.cli.common import EXIT_CODES, Main, UsageProblem
from dlpscan.cli.db import db, triage
from dlpscan.cli.edm import edm
from dlpscan.cli.report import report
from dlpscan.cli.scan import scan
from dlpscan.cli.watch import status, watch


@click.group(
    cls=Main,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EXIT_CODES,
)
@click.option("--config", type=click.Path(dir_okay=False), help="TOML config file (default: ./dlpscan.toml).")
@click.option(
    "--version",
    is_flag=True,
    is_eager=True,
    expose_value=False,
    callback=lambda ctx, _param, value: _version(ctx) if value and not ctx.resilient_parsing else None,
    help="Show the version with the recognizer and policy versions, and exit.",
)
def main(config: str | None) -> None:
    """Find bulk Chinese personal data (ID numbers, phones, bank cards, names, addresses) in files.

    \b
    Examples:
      dlpscan scan /mnt/ops
      dlpscan scan /mnt/ops --format jsonl --output report.jsonl
      dlpscan scan share/ --policy judicial-2017 --fail-on-flag
      dlpscan db files --severity high
      dlpscan db exposure --by owner
      dlpscan report --format html --output audit.html

    \b
    Shell completion (bash; zsh and fish alike, see README):
      eval "$(_DLPSCAN_COMPLETE=bash_source dlpscan)"
    """


def _version(ctx: click.Context) -> None:
    """The versions that decide findings: a report or a store names the same digests."""
    from dlpscan.detect.registry import definitions_version, load_definitions
    from dlpscan.policy import builtin_policies, load_policy
    from dlpscan.settings import code_version

    click.echo(f"dlpscan {__version__} (detection code {code_version()})")
    click.echo(f"recognizers {definitions_version()}: {len(load_definitions())} entity types")
    click.echo("policies: " + ", ".join(f"{n} {load_policy(n).version}" for n in builtin_policies()))
    ctx.exit()


for command in (scan, watch, status, report, db, triage, policy, config_group, recognizers, edm, cluster):
    main.add_command(command)

__all__ = ["UsageProblem", "main"]
