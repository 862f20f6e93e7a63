"""What every command shares: exit codes, the usage-error exception, loading the config, opening the
store, and the options `scan` and `watch` both take (one name, one meaning)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from dlpscan.config import Config, ConfigError, load_config
from dlpscan.logs import setup_logging

log = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])

EXIT_CODES = """\b
Exit codes:
  0    done
  1    something was flagged (with --fail-on-flag)
  2    usage, configuration or environment error (a missing folder, an unwritable file ...)
  3    the results store could not be written (the scan's report is complete)
  4    internal error: a bug in dlpscan (rerun with --log-level debug and report it)
  5    the cluster's scheduler was lost mid-scan (finished files are stored; --resume continues)
  130  interrupted (the store stays consistent; `dlpscan scan --resume` continues)"""
INTERNAL_ERROR = 4
CLUSTER_LOST = 5
INTERRUPTED = 130


class UsageProblem(click.ClickException):
    """A configuration or usage problem: one clear line, exit code 2."""

    exit_code = 2


class InternalError(click.ClickException):
    """An exception nothing handled: one line naming it, exit code 4 (never 1, which means flagged)."""

    exit_code = INTERNAL_ERROR


class Main(click.Group):
    """The root command: whatever escapes a command ends in one line and its own exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:
            raise click.exceptions.Exit(INTERRUPTED) from None
        except OSError as exc:  # the environment: a missing folder, no space, no permission
            log.debug("unhandled OSError", exc_info=True)
            where = f" ({exc.filename})" if exc.filename else ""
            raise UsageProblem(f"{exc.strerror or type(exc).__name__}{where}") from None
        except Exception as exc:
            log.debug("internal error", exc_info=True)
            raise InternalError(
                f"internal error ({type(exc).__name__}); rerun with --log-level debug and report it"
            ) from None


def cli_config(ctx: click.Context, flags: dict[str, Any]) -> Config:
    path = ctx.find_root().params.get("config")
    try:
        config, _ = load_config(Path(path) if path else None, flags)
    except ConfigError as exc:
        raise UsageProblem(str(exc)) from None
    setup_logging(config.log_level, config.log_format)
    return config


def open_store(config: Config, create: bool = False):
    """The results store of `config`. Readers (the default) refuse a store that does not exist
    instead of creating an empty one; `scan` and `watch` pass `create=True`."""
    from dlpscan.detect.registry import DefinitionError, entity_types
    from dlpscan.store import Store, StoreMissing
    from dlpscan.store.db import describe

    try:
        types = entity_types(Path(d) for d in config.recognizer_dirs)
    except DefinitionError as exc:  # a broken recognizer folder, not a store problem
        raise UsageProblem(str(exc)) from None
    try:
        return Store.open(config.db, types, create=create)
    except StoreMissing as exc:
        raise UsageProblem(f"{exc}; check --db, or run `dlpscan scan` first") from None
    except Exception as exc:  # one line: the driver's first, without SQLAlchemy's links
        raise UsageProblem(f"cannot open the results store: {describe(exc)}") from None


def check_cluster(config: Config, storing: bool = True) -> None:
    """`--cluster` needs the `cluster` extra, and a store that every later scan can find: results of
    workers on many hosts go to one PostgreSQL database, never to a SQLite file on one of them."""
    from dlpscan.store.db import resolve_url

    if not config.cluster:
        return
    try:
        import dlpscan.cluster  # noqa: F401
    except ImportError:
        raise UsageProblem("--cluster needs the cluster extra: pip install 'dlpscan[cluster]'") from None
    if storing and resolve_url(config.db).get_backend_name() != "postgresql":
        raise UsageProblem(
            "--cluster needs a PostgreSQL store: give --db postgresql://user@host/db "
            "(or --no-store), not a SQLite file"
        )


# ---- options shared by `scan` and `watch` ------------------------------------------------------

SHARED_OPTIONS = (
    click.option(
        "--fingerprint-key",
        help="HMAC key for fingerprints (also DLPSCAN_FINGERPRINT_KEY). Given: scan reports carry "
        "fingerprints. Not given: a key generated once and kept in the user data folder (or "
        "`key_file`) is used for the store only.",
    ),
    click.option(
        "--edm",
        help="Exact data match: an index of the company's customers (`dlpscan edm build`; also `edm` "
        "in the config). Reports per file the distinct customers (master rows) found; docs/edm.md.",
    ),
    click.option(
        "--edm-key-file",
        help="File holding the key the --edm index was built with (also DLPSCAN_EDM_KEY_FILE).",
    ),
    click.option(
        "--policy", help="Policy name (default, judicial-2017, bank, telecom, courier) or YAML file."
    ),
    click.option(
        "--db", help="Results store: a SQLite path or postgresql://... URL (default: per-user SQLite)."
    ),
    click.option("-j", "--jobs", type=int, help="Worker processes (default: number of CPUs)."),
    click.option(
        "--cluster",
        metavar="ADDRESS",
        help="Read the files on a Dask cluster instead: its scheduler's address, e.g. tcp://host:8786 "
        "(needs the `cluster` extra and a PostgreSQL --db; docs/cluster.md).",
    ),
    click.option(
        "--file-timeout", type=float, help="Seconds allowed per file before it is skipped (default 300)."
    ),
    click.option(
        "--max-file-size", "max_file_mb", type=int, help="Skip files larger than this many MB (default 2048)."
    ),
    click.option(
        "--include", multiple=True, help="Only read files whose path matches this glob (repeatable)."
    ),
    click.option(
        "--exclude", multiple=True, help="Skip paths matching this glob (repeatable), e.g. '*.iso', '.git/'."
    ),
    click.option(
        "--follow-symlinks/--no-follow-symlinks", default=None, help="Follow symbolic links (off by default)."
    ),
    click.option(
        "--one-file-system", is_flag=True, default=None, help="Do not cross into other mounted filesystems."
    ),
    click.option(
        "--content-hash",
        is_flag=True,
        default=None,
        help="Also compare a SHA-256 of each file's bytes to decide that it is unchanged "
        "(catches edits that keep size and mtime; costs one extra read of unchanged files).",
    ),
    click.option(
        "--engine", type=click.Choice(["auto", "hyperscan", "re"]), help="Pattern engine (default auto)."
    ),
    click.option(
        "--smb-conf",
        help="Samba's smb.conf: shares (guest ok, valid users, force user) that widen who can read a "
        "path (docs/exposure.md).",
    ),
    click.option(
        "--stale-days", type=int, help="Flag files not modified for this many days as stale (default 365)."
    ),
    click.option("--log-format", type=click.Choice(["text", "json"]), help="Log format on stderr."),
    click.option("--log-level", type=click.Choice(["debug", "info", "warning", "error"])),
)


def shared_options(command: F) -> F:
    """Decorate a command with SHARED_OPTIONS, in their order."""
    for option in reversed(SHARED_OPTIONS):
        command = option(command)
    return command


def glob_flags(flags: dict[str, Any]) -> None:
    """Repeatable --include/--exclude: none given means "as configured" (None), not "nothing"."""
    flags["include"] = list(flags["include"]) or None
    flags["exclude"] = list(flags["exclude"]) or None
