"""`dlpscan edm`: build and inspect exact-data-match indexes of a customer master table."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from dlpscan.cli.common import UsageProblem, cli_config


@click.group()
def edm() -> None:
    """Exact data match: index a customer master table, then find its customers' records.

    \b
    On an isolated machine:
      dlpscan edm keygen --out edm.key
      export DLPSCAN_EDM_KEY_FILE=edm.key
      dlpscan edm build --schema edm.yaml --input customers.csv --out customers.edm
    Then scan with the index and the same key (docs/edm.md):
      DLPSCAN_EDM_KEY_FILE=edm.key dlpscan scan /srv/share --edm customers.edm
    """


@edm.command()
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False), help="New key file (mode 0600)."
)
def keygen(out: str) -> None:
    """Write a new random EDM key. Keep it apart from the index and from the fingerprint key."""
    from dlpscan.edm import EdmError
    from dlpscan.edm.keys import key_id, load_key, new_key_file

    try:
        new_key_file(Path(out))
        key = load_key(None, out)
    except EdmError as exc:
        raise UsageProblem(str(exc)) from None
    assert key is not None
    click.echo(f"{out}: new EDM key, id {key_id(key)}")


@edm.command()
@click.option("--schema", "schema_path", required=True, type=click.Path(dir_okay=False), help="edm.yaml")
@click.option("--input", "source", required=True, type=click.Path(dir_okay=False), help="CSV or XLSX.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The .edm index to write.")
@click.option("--edm-key-file", help="File holding the EDM key (also DLPSCAN_EDM_KEY_FILE, DLPSCAN_EDM_KEY).")
@click.option("-j", "--jobs", type=int, default=1, show_default=True, help="Worker processes.")
@click.option("--encoding", help="Text encoding of a CSV input (default: UTF-8, else GB18030).")
@click.option("--sheet", help="Sheet of an XLSX input (default: the first).")
@click.option("--json", "as_json", is_flag=True, help="Print the build report as JSON.")
@click.pass_context
def build(
    ctx: click.Context,
    schema_path: str,
    source: str,
    out: str,
    jobs: int,
    encoding: str | None,
    sheet: str | None,
    as_json: bool,
    **flags: Any,
) -> None:
    """Hash a customer master table into an index of keyed digests (never a value).

    Bad rows (unreadable, too short, no valid primary value) are counted and listed by row
    number, never fatal.

    \b
    Example:
      dlpscan edm build --schema edm.yaml --input customers.csv --out customers.edm -j 4
    """
    from dlpscan.detect.registry import DefinitionError, load_definitions
    from dlpscan.edm import EdmError
    from dlpscan.edm.build import build_index
    from dlpscan.edm.keys import load_key
    from dlpscan.edm.schema import load_schema

    config = cli_config(ctx, flags)
    dirs = [Path(d) for d in config.recognizer_dirs]
    try:
        key = load_key(config.edm_key, config.edm_key_file)
        if key is None:
            raise EdmError("no EDM key: give --edm-key-file or set DLPSCAN_EDM_KEY_FILE (dlpscan edm keygen)")
        if config.fingerprint_key and config.fingerprint_key.encode("utf-8") == key:
            raise EdmError("the EDM key must not be the fingerprint key")
        schema = load_schema(Path(schema_path), load_definitions(dirs))
        if not Path(source).is_file():
            raise EdmError(f"no such file: {source}")
        progress = _progress if sys.stderr.isatty() and not as_json else None
        report = build_index(
            schema, Path(source), Path(out), key, [str(d) for d in dirs], jobs, encoding, sheet, progress
        )
    except (EdmError, DefinitionError) as exc:
        raise UsageProblem(str(exc)) from None
    if progress is not None:
        click.echo("", err=True)
    click.echo(json.dumps(report.describe(), ensure_ascii=False, indent=2) if as_json else report.summary())


def _progress(rows: int) -> None:
    click.echo(f"\r{rows:,} rows read", err=True, nl=False)


@edm.command()
@click.argument("index", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def info(index: str, as_json: bool) -> None:
    """Show what an index holds: its name, version, key id, schema and counts (never a value)."""
    from dlpscan.edm import EdmError
    from dlpscan.edm.index import read_header

    try:
        header = read_header(Path(index))
    except EdmError as exc:
        raise UsageProblem(str(exc)) from None
    data = header.describe()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    for name, value in data.items():
        if name != "columns":
            click.echo(f"{name:12} {value}")
    for c in data["columns"]:
        primary = " (primary)" if c["primary"] else ""
        click.echo(f"{'column':12} {c['type']}{primary}, normalised by {c['normaliser']}")
