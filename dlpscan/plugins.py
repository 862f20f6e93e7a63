"""Extension points: what other installed packages add through entry points.

A company adds a validator for its employee-number format, a reader for an in-house file format
or an output for its SIEM from its own package, without forking dlpscan:

    [project.entry-points."dlpscan.validators"]   acme_employee_no = "acme_dlp:employee_no"
    [project.entry-points."dlpscan.normalisers"]  acme_compact = "acme_dlp:compact"
    [project.entry-points."dlpscan.extractors"]   "application/x-acme-ledger" = "acme_dlp:read_ledger"
    [project.entry-points."dlpscan.formats"]      siem = "acme_dlp:SiemWriter"

docs/extending.md documents each interface with a worked example. A plugin that fails to import is
skipped with one warning naming it (never the scan's data); a built-in name cannot be replaced.
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points
from typing import Any

log = logging.getLogger(__name__)

VALIDATORS = "dlpscan.validators"
NORMALISERS = "dlpscan.normalisers"
EXTRACTORS = "dlpscan.extractors"
FORMATS = "dlpscan.formats"


@cache
def plugins(group: str) -> dict[str, Any]:
    """name -> loaded object for every entry point of `group` that imports."""
    found: dict[str, Any] = {}
    for ep in entry_points(group=group):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a broken plugin must not stop a scan
            log.warning("plugin %s = %s (%s) not loaded: %s", ep.name, ep.value, group, type(exc).__name__)
    return found


def with_plugins(group: str, builtins: dict[str, Any]) -> dict[str, Any]:
    """The built-ins plus the plugins of `group`; a plugin never replaces a built-in name."""
    extra = plugins(group)
    for name in extra.keys() & builtins.keys():
        log.warning("plugin %s (%s) ignored: the name is built in", name, group)
    return builtins | {name: obj for name, obj in extra.items() if name not in builtins}
