"""The `dlpscan` command line: thin wrappers that parse options and call the library.

Exit codes: `common.EXIT_CODES` (shown by --help).
"""

from __future__ import annotations

import click

from dlpscan import __version__
from dlpscan.cli.admin import config_group, policy, recognizers
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


for command in (scan, watch, status, report, db, triage, policy, config_group, recognizers, edm):
    main.add_command(command)

__all__ = ["UsageProblem", "main"]
