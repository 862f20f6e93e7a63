"""The extraction layer: bytes in, a stream of Documents out, each with lazy text/table Blocks.

open_documents(path, display_path, limits) -> Iterator[Document]
Limits: what a reader may spend on one file
(sniff.sniff(path_or_bytes) -> media type, libmagic refined, is in its own module.)

The readers load on first use: a process that only needs `extract.limits` (the configuration, a
scan's parent) does not import every parser.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dlpscan.extract.documents import open_documents
    from dlpscan.extract.limits import Limits

__all__ = ["Limits", "open_documents"]
_HOME = {"Limits": "limits", "open_documents": "documents"}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOME[name]}"), name)
