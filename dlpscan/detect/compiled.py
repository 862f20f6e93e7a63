"""The compiled modules, when they were built and are not switched off: the candidate loop (`_core`)
and the direct calls into Hyperscan and OpenSSL (`_native`).

`pip install` builds them where a C compiler (and, for `_native`, libhyperscan-dev and libssl-dev) is
present; elsewhere, or with DLPSCAN_PURE_PYTHON=1, dlpscan runs the pure-Python reference, which
decides exactly alike.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE_PYTHON_ENV = "DLPSCAN_PURE_PYTHON"


def core(required: bool | None = None) -> ModuleType | None:
    """The compiled loop; None when unavailable or switched off. `required=True` raises instead,
    `required=False` always answers None."""
    return _module("_core", required)


def native(required: bool | None = None) -> ModuleType | None:
    """The direct calls into Hyperscan and OpenSSL, as `core`."""
    return _module("_native", required)


def _module(name: str, required: bool | None) -> ModuleType | None:
    if required is False or (required is None and os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")):
        return None
    try:
        return importlib.import_module(f"dlpscan.detect.{name}")
    except ImportError:
        if required:
            raise
        return None
