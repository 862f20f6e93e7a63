"""The compiled candidate loop (`_core`, Cython), when it was built and is not switched off.

`pip install` builds it where a C compiler is present; elsewhere, or with DLPSCAN_PURE_PYTHON=1, the
engine runs the pure-Python reference loop, which decides exactly alike.
"""

from __future__ import annotations

import os
from types import ModuleType

PURE_PYTHON_ENV = "DLPSCAN_PURE_PYTHON"


def core(required: bool | None = None) -> ModuleType | None:
    """The compiled module; None when unavailable or switched off. `required=True` raises instead,
    `required=False` always answers None."""
    if required is False or (required is None and os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")):
        return None
    try:
        from dlpscan.detect import _core
    except ImportError:
        if required:
            raise
        return None
    return _core
