"""Test helper: the first Document of a file, its blocks read to the end, and the status it ended with."""

from __future__ import annotations

from pathlib import Path

from dlpscan.extract import Limits, open_documents
from dlpscan.extract.errors import ExtractError


def read(path: Path, limits: Limits = Limits()):  # noqa: B008
    """(document, status, reason, blocks): a reading error becomes the status, as the pipeline does."""
    doc = next(open_documents(path, path.name, limits))
    blocks, status, reason = [], doc.status, doc.reason
    try:
        blocks.extend(doc.blocks)
    except ExtractError as e:
        status, reason = e.status, str(e)
    return doc, status, reason, blocks
