"""What every command shares: the usage-error exception, loading the config, opening the store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from dlpscan.config import Config, ConfigError, load_config
from dlpscan.logs import setup_logging


class UsageProblem(click.ClickException):
    """A configuration or usage problem: one clear line, exit code 2."""

    exit_code = 2


def cli_config(ctx: click.Context, flags: dict[str, Any]) -> Config:
    path = ctx.find_root().params.get("config")
    try:
        config, _ = load_config(Path(path) if path else None, flags)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    setup_logging(config.log_level, config.log_format)
    return config


def open_store(config: Config):
    from dlpscan.detect.registry import entity_types
    from dlpscan.store import Store

    try:
        return Store.open(config.db, entity_types(Path(d) for d in config.recognizer_dirs))
    except Exception as exc:
        raise UsageProblem(f"cannot open the results store: {type(exc).__name__}: {exc}") from None
