"""Every file of the public evaluation corpus is read, with the media-type family libmagic gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dlpscan.extract import open_documents
from dlpscan.extract.errors import ExtractError
from dlpscan.model import Status

PUBLIC = Path(__file__).resolve().parents[1].parent / "shared" / "eval" / "public"
pytestmark = pytest.mark.skipif(
    not (PUBLIC / "truth.json").is_file(), reason=f"public corpus not present at {PUBLIC}"
)

FAMILIES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "application/json": "text",
}


def family(media_type: str) -> str:
    return "text" if media_type.startswith("text/") else FAMILIES.get(media_type, media_type)


@pytest.mark.timeout(120)
def test_corpus_documents_match_truth():
    truth = json.loads((PUBLIC / "truth.json").read_text(encoding="utf-8"))["files"]
    corpus = PUBLIC / "corpus"
    seen = {}
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        for doc in open_documents(path, path.relative_to(corpus).as_posix()):
            status = doc.status
            try:
                rows = sum(len(getattr(b, "rows", ())) for b in doc.blocks)
            except ExtractError as e:
                status, rows = e.status, 0
            seen[doc.path] = (status, doc.media_type, rows)
    assert set(seen) == set(truth)
    for name, entry in truth.items():
        status, media_type, _ = seen[name]
        assert status == Status.SCANNED, name
        assert family(media_type) == family(entry["media_type"]), name
        assert media_type == entry["media_type"], name
    # bulk tables arrive as table rows with their header, one row per record
    for name in (
        "bank/customer_list_0315.csv",
        "bank/个人客户清单_分行.xlsx",
        "tech/api_user_list_dump.json",
    ):
        assert seen[name][2] == truth[name]["records"], name
