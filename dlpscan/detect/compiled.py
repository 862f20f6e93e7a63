"""The detection layer's compiled modules, when they were built and are not switched off: the
candidate loop (`_core`) and the direct calls into Hyperscan and OpenSSL (`_native`).

`pip install` builds them where a C compiler (and, for `_native`, libhyperscan-dev and libssl-dev) is
present; elsewhere, or with DLPSCAN_PURE_PYTHON=1, dlpscan runs the pure-Python reference, which
decides exactly alike (dlpscan.extensions).
"""

from __future__ import annotations

from types import ModuleType

from dlpscan import extensions


def core(required: bool | None = None) -> ModuleType | None:
    """The compiled loop; None when unavailable or switched off. `required=True` raises instead,
    `required=False` always answers None."""
    return extensions.load("dlpscan.detect._core", required)


def native(required: bool | None = None) -> ModuleType | None:
    """The direct calls into Hyperscan and OpenSSL, as `core`."""
    return extensions.load("dlpscan.detect._native", required)
