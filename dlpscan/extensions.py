"""Loading dlpscan's optional compiled modules (Cython, built by `pip install` where a C compiler is
present; hatch_build.py). Each has a pure-Python reference beside it that decides exactly alike, so a
module that is missing, switched off (DLPSCAN_PURE_PYTHON=1) or built from another version of its
source is simply not used.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import os
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

PURE_PYTHON_ENV = "DLPSCAN_PURE_PYTHON"


def load(name: str, required: bool | None = None) -> ModuleType | None:
    """The compiled module `name` (e.g. "dlpscan.detect._core"); None when unavailable or switched off.
    `required=True` raises instead, `required=False` always answers None."""
    if required is False or (required is None and os.environ.get(PURE_PYTHON_ENV, "") not in ("", "0")):
        return None
    try:
        module = importlib.import_module(name)
    except ImportError:
        if required:
            raise
        return None
    if _stale(module):
        if required:
            raise ImportError(f"{name} was built from another version of its .pyx")
        return None
    return module


def source_digest(pyx: Path) -> str:
    """SHA-256 of a .pyx and the .pxi and .h files beside it that it names (includes): what
    hatch_build.py builds into the module as SOURCE_DIGEST. Only those it names: the build compiles
    a module again when they change, not when another module's header does."""
    source = pyx.read_bytes()
    digest = hashlib.sha256(source)
    for include in sorted([*pyx.parent.glob("*.pxi"), *pyx.parent.glob("*.h")]):
        if f'"{include.name}"'.encode() in source:
            digest.update(include.read_bytes())
    return digest.hexdigest()


@functools.cache
def _stale(module: ModuleType) -> bool:
    """Built from another version of its source (a checkout changed the .pyx since `pip install`)? Then
    it is not used: its decisions may differ from the Python code beside it."""
    source = Path(module.__file__ or "").with_name(f"{module.__name__.rsplit('.', 1)[1]}.pyx")
    if not source.is_file():  # installed without its source
        return False
    if source_digest(source) == getattr(module, "SOURCE_DIGEST", None):
        return False
    log.warning("%s is out of date (rebuild: pip install -e .); the pure-Python path runs", module.__name__)
    return True
