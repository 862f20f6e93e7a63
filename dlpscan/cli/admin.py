"""`dlpscan policy`, `dlpscan config` and `dlpscan recognizers`: inspect and validate the setup."""

from __future__ import annotations

import json
from pathlib import Path

import click

from dlpscan.cli.common import UsageProblem, cli_config
from dlpscan.policy import PolicyError, builtin_policies, check_policy_file, load_policy


@click.group()
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
@click.pass_context
def policy_check(ctx: click.Context, file: str) -> None:
    """Validate a policy YAML file; prints one clear message and exits 2 when it is invalid.
    Rules may name the entity types and data categories of the configured recognizer folders.

    \b
    Example:
      dlpscan policy check my-policy.yaml
      dlpscan --config dlpscan.toml policy check my-policy.yaml
    """
    from dlpscan.detect.categories import data_categories
    from dlpscan.detect.registry import DefinitionError, entity_types

    folders = [Path(d) for d in cli_config(ctx, {}).recognizer_dirs]
    try:
        p = check_policy_file(Path(file), entity_types(folders), data_categories(folders))
    except (PolicyError, DefinitionError) as exc:
        raise UsageProblem(str(exc)) from None
    click.echo(f"{file}: ok (policy {p.name}, version {p.version}, {len(p.rules)} rules)")


@click.group("config")
def config_group() -> None:
    """Show the effective configuration."""


@config_group.command("show")
@click.pass_context
def config_show(ctx: click.Context) -> None:
    """Print the effective config (file + DLPSCAN_* environment) as JSON; the key is hidden."""
    config = cli_config(ctx, {})
    data = config.model_dump()
    for secret in ("fingerprint_key", "edm_key"):
        if data.get(secret):
            data[secret] = "(set)"
    if data.get("watch", {}).get("webhook_secret"):
        data["watch"]["webhook_secret"] = "(set)"
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.group()
def recognizers() -> None:
    """Inspect the recognizer definitions."""


@recognizers.command("list")
@click.pass_context
def recognizers_list(ctx: click.Context) -> None:
    """List entity types with their validators and patterns: the shipped ones and those of the
    configured recognizer_dirs."""
    from dlpscan.detect.registry import DefinitionError, load_definitions

    config = cli_config(ctx, {})
    try:
        definitions = load_definitions(tuple(Path(d) for d in config.recognizer_dirs))
    except DefinitionError as exc:
        raise UsageProblem(str(exc)) from None
    for d in definitions:
        click.echo(
            f"{d.entity:20} validator={d.validator or '-':20} patterns={','.join(p.name for p in d.patterns)}"
        )


@recognizers.command("categories")
@click.pass_context
def recognizers_categories(ctx: click.Context) -> None:
    """List the legal data categories (recognizers/categories and `categories/` in recognizer_dirs):
    法释〔2017〕10号 threshold, PIPL Art. 28 kind, fields and what makes a table one (docs/categories.md)."""
    from dlpscan.detect.categories import load_categories
    from dlpscan.detect.registry import DefinitionError

    config = cli_config(ctx, {})
    try:
        defs = load_categories(Path(d) for d in config.recognizer_dirs)
    except DefinitionError as exc:
        raise UsageProblem(str(exc)) from None
    for d in defs:
        sets = " | ".join("+".join(s) for s in d.requires)
        notes = f" sensitive={d.sensitive}" if d.sensitive else ""
        notes += " disputed" if d.disputed else ""
        click.echo(f"{d.category:22} {d.threshold:>4}{notes}  {d.label.zh or d.label.en}  requires: {sets}")
