"""The daemon's effective settings: config file < environment < command line, re-read on SIGHUP."""

from __future__ import annotations

import os
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dlpscan.config import Config, ConfigError, WatchConfig, load_config, resolve_key
from dlpscan.detect.categories import data_categories
from dlpscan.detect.registry import DefinitionError, entity_types
from dlpscan.policy import Policy, PolicyError, load_policy
from dlpscan.settings import ScanSettings
from dlpscan.walk import WalkOptions
from dlpscan.watch.alerts import LogSink, Sink, SyslogSink, WebhookSink

SECRET_ENV = "DLPSCAN_WEBHOOK_SECRET"


@dataclass
class Options:
    config: Config
    watch: WatchConfig
    roots: list[str]
    settings: ScanSettings
    policy: Policy
    walk: WalkOptions

    def sinks(self) -> list[Sink]:
        w = self.watch
        sinks: list[Sink] = []
        if w.alert_log:
            sinks.append(LogSink(w.alert_log))
        if w.syslog:
            sinks.append(SyslogSink(w.syslog, w.syslog_facility, w.webhook_timeout))
        if w.webhook_url:
            sinks.append(WebhookSink(w.webhook_url, webhook_secret(w), w.webhook_timeout))
        return sinks

    def pool_key(self) -> tuple:
        """What the worker processes and the watch session depend on: a change needs new ones."""
        c = self.config
        versions = (self.settings.detector_version(), self.policy.version)
        return (self.settings, versions, c.jobs, c.file_timeout, c.worker_memory_mb, c.nice, c.cluster)

    def own_files(self) -> list[str]:
        """Files the daemon writes, which it must not watch."""
        own = [p for p in (self.watch.alert_log, self.config.key_file) if p]
        db = self.config.db
        if db is None or "://" not in db:
            from dlpscan.store.db import resolve_url

            own.append(str(resolve_url(db).database))
        elif db.startswith("sqlite:///"):
            own.append(db.removeprefix("sqlite:///"))
        return own


def webhook_secret(watch: WatchConfig) -> bytes:
    if watch.webhook_secret:
        return watch.webhook_secret.encode("utf-8")
    if watch.webhook_secret_file:
        try:
            return Path(watch.webhook_secret_file).read_text(encoding="utf-8").strip().encode("utf-8")
        except OSError as exc:
            raise ConfigError(f"cannot read watch.webhook_secret_file: {exc.strerror}") from None
    return os.environ.get(SECRET_ENV, "").encode("utf-8")


def load_options(config_path: str | None, flags: dict[str, Any], watch_flags: dict[str, Any]) -> Options:
    """Read and validate everything; raises ConfigError (or PolicyError) with one readable line."""
    config, _ = load_config(Path(config_path) if config_path else None, flags)
    given = {k: v for k, v in watch_flags.items() if v is not None}
    try:
        watch = WatchConfig.model_validate(config.watch.model_dump() | given)
    except ValidationError as exc:
        problems = "; ".join(f"watch.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"command line: {problems}") from None
    roots = [os.path.abspath(r) for r in watch.roots]
    if not roots:
        raise ConfigError("nothing to watch: give directories on the command line or set watch.roots")
    _check_targets(watch)
    try:
        types = entity_types(Path(d) for d in config.recognizer_dirs)
        categories = data_categories(Path(d) for d in config.recognizer_dirs)
        policy = load_policy(config.policy, [Path(d) for d in config.policy_dirs], types, categories)
    except (PolicyError, DefinitionError) as exc:
        raise ConfigError(str(exc)) from None
    key, explicit = resolve_key(config)
    settings = ScanSettings.from_config(config, key, explicit)
    walk = WalkOptions.from_config(config)
    return Options(config, watch, roots, settings, policy, walk)


def _check_targets(watch: WatchConfig) -> None:
    if watch.webhook_url:
        scheme = urllib.parse.urlsplit(watch.webhook_url).scheme
        if scheme not in ("http", "https"):
            raise ConfigError("watch.webhook_url: must be an http:// or https:// URL")
        if not webhook_secret(watch):
            raise ConfigError(
                f"watch.webhook_url needs a signing secret: watch.webhook_secret, "
                f"watch.webhook_secret_file or ${SECRET_ENV}"
            )
    if watch.syslog:
        url = urllib.parse.urlsplit(watch.syslog)
        if url.scheme in ("udp", "tcp"):
            if not url.hostname:
                raise ConfigError("watch.syslog: give udp://host:port, tcp://host:port or a unix socket path")
        elif not watch.syslog.startswith("/"):
            raise ConfigError("watch.syslog: give udp://host:port, tcp://host:port or a unix socket path")
