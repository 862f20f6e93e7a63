"""Compliance reports: numbers against the store, legal grading, triage, the four formats, no leaks.

The store is built from hand-made FileResults whose (synthetic) raw values are known, so every
output can be searched for them. HTML is rendered in headless Chromium and the PDF read back with
pdfplumber and pdftoppm; those tests skip when the tools are missing.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import hmac
import re
import shutil
import subprocess
import zipfile
from fractions import Fraction
from pathlib import Path

import openpyxl
import pdfplumber
import pytest
from click.testing import CliRunner

from dlpscan.cli import main
from dlpscan.findings import safe_sample
from dlpscan.model import EntityStats, FileResult, Status
from dlpscan.policy import evaluate, load_policy
from dlpscan.report import Options, ReportError, collect, write_report
from dlpscan.report.legal import Grader
from dlpscan.report.render import render_html
from dlpscan.store import Store

KEY = b"report-test-key"
ROOT = "/srv/share"
CHROMIUM = Path("/usr/bin/chromium")
DEFAULT = load_policy("default")
T1, T2 = 1_700_000_000.0, 1_700_086_400.0  # file mtimes before / after a change


def fp(value: str) -> str:
    return hmac.new(KEY, value.encode(), hashlib.sha256).hexdigest()


def mask(value: str) -> str:
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


class Planted:
    """Synthetic raw values, unique across the whole store, and every one of them remembered."""

    def __init__(self) -> None:
        self.values: dict[str, set[str]] = {}
        self._n = 0

    def take(self, etype: str, n: int) -> list[str]:
        prefix = {"CN_RESIDENT_ID": "11010119850101", "CN_MOBILE": "1390", "CN_BANK_CARD": "622202100"}[etype]
        width = {"CN_RESIDENT_ID": 4, "CN_MOBILE": 7, "CN_BANK_CARD": 7}[etype]
        out = [f"{prefix}{self._n + i:0{width}d}" for i in range(n)]
        self._n += n
        self.values.setdefault(etype, set()).update(out)
        return out


def result(path: str, values: dict[str, list[str]], records: int = 0, mtime: float = T1, **kw) -> FileResult:
    r = FileResult(
        path=f"{ROOT}/{path}",
        status=Status.SCANNED,
        entities={
            t: EntityStats(len(v), len(v), sorted(fp(x) for x in v), [mask(x) for x in v[:5]])
            for t, v in values.items()
        },
        records=records,
        size=1000 + records,
        mtime=mtime,
        owner=kw.pop("owner", "alice"),
        media_type="text/csv",
        **kw,
    )
    r.flagged, r.severity, r.rules = evaluate(DEFAULT, r)
    return r


def build_store(url: str) -> Planted:
    """Two scans of /srv/share; triage between them; the second one changes and drops files."""
    p = Planted()
    ids_mixed, mob_mixed = p.take("CN_RESIDENT_ID", 3000), p.take("CN_MOBILE", 3000)
    common = [
        result("bank/cards_50.csv", {"CN_BANK_CARD": p.take("CN_BANK_CARD", 50),
                                     "CN_RESIDENT_ID": p.take("CN_RESIDENT_ID", 50)}, 50),
        result("bank/cards_500.xlsx", {"CN_BANK_CARD": p.take("CN_BANK_CARD", 500)}, 500),
        result("hr/mixed.csv", {"CN_BANK_CARD": p.take("CN_BANK_CARD", 30), "CN_RESIDENT_ID": ids_mixed,
                                "CN_MOBILE": mob_mixed}, 3000, owner="bob"),
        *(result(f"sales/leads/part_{i:02d}.csv", {"CN_MOBILE": p.take("CN_MOBILE", 30)}, 30, owner="carol")
          for i in range(40)),
        result("ops/fp.csv", {"CN_MOBILE": p.take("CN_MOBILE", 60)}, 60, owner="dave"),
        FileResult(f"{ROOT}/secret.zip", Status.ENCRYPTED, reason="password-protected archive", size=9, mtime=T1),
        FileResult(f"{ROOT}/big.iso", Status.SKIPPED, reason="larger than 2048 MB", size=3 << 30, mtime=T1),
        FileResult(f"{ROOT}/broken.pdf", Status.ERROR, error="malformed PDF", size=5, mtime=T1),
        result("readme.txt", {}),
    ]  # fmt: skip
    lapsed_values = p.take("CN_MOBILE", 60)
    with Store.open(url) as store:
        s1 = store.begin_scan([ROOT], policy="default", policy_version=DEFAULT.version,
                              detector_version="0.1.0+defs0001+key1", options={})  # fmt: skip
        store.record_results(s1, [*common, result("ops/lapsed.csv", {"CN_MOBILE": lapsed_values}, 60),
                                  result("ops/resolved.csv", {"CN_MOBILE": p.take("CN_MOBILE", 55)}, 55)])  # fmt: skip
        store.finish_scan(s1, status="completed", stats={"files": 50, "bytes": 123_456})
        store.triage(f"{ROOT}/ops/fp.csv", "false-positive", "synthetic test data (INC-7)", "alice")
        store.triage(f"{ROOT}/ops/lapsed.csv", "false-positive", "sample", "alice")
        store.triage(f"{ROOT}/ops/resolved.csv", "resolved", "deleted, ticket SEC-42", "bob")
        store.triage(f"{ROOT}/bank/cards_500.xlsx", "open", "=1+1 owner told, SEC-51", "bob")
        s2 = store.begin_scan([ROOT], policy="default", policy_version=DEFAULT.version,
                              detector_version="0.1.0+defs0001+key1", options={})  # fmt: skip
        store.record_results(
            s2, [*common, result("ops/lapsed.csv", {"CN_MOBILE": lapsed_values}, 60, mtime=T2)]
        )
        store.finish_scan(s2, status="completed", stats={"files": 49, "bytes": 120_000})
    return p


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    url = str(folder / "store.sqlite")
    planted = build_store(url)
    return url, planted, folder


@pytest.fixture(scope="module")
def outputs(built):
    """Every format, both languages for the pages; written once for the module."""
    url, _, folder = built
    out = {}
    with Store.open(url) as store:
        for name, fmt, lang in [("en.html", "html", "en"), ("zh.html", "html", "zh"), ("zh.pdf", "pdf", "zh"),
                                ("en.csv", "csv", "en"), ("en.xlsx", "xlsx", "en")]:  # fmt: skip
            out[name] = folder / "out" / name
            out[name].parent.mkdir(exist_ok=True)
            write_report(store, fmt, out[name], Options(), lang=lang)
    return out


@pytest.fixture(scope="module")
def data(built):
    with Store.open(built[0]) as store:
        return collect(store, Options())


# ---- what the report is made of ---------------------------------------------------------------


def test_numbers_match_the_store(built, data):
    with Store.open(built[0]) as store:
        stored = list(store.file_results())
        assert data.people == store.distinct_people() == 3000 + 1200 + 60 + 60
        history = store.entity_history()
    flagged = {r.path for r in stored if r.flagged}
    assert {r.path for r in data.findings} == flagged - {f"{ROOT}/ops/fp.csv"}
    assert [r.path for r in data.false_positives] == [f"{ROOT}/ops/fp.csv"]
    assert data.items == len(stored) == 49
    assert dict(data.severity_counts) == {"critical": 3, "medium": 1}
    assert [h["scan_id"] for h in data.history] == [1, 2]
    assert data.previous["scan_id"] == 1 and data.current == history[-1]
    assert (data.files_scanned, data.bytes_scanned) == (49, 120_000)
    assert data.versions == {"scanner": "0.1.0", "recognisers": "defs0001", "key_id": "key1"}


def test_judicial_grading_of_files_and_folders(data):
    by_path = {r.path.removeprefix(ROOT + "/"): r for r in data.findings}
    assert by_path["bank/cards_50.csv"].grading.level == "serious"
    assert by_path["bank/cards_500.xlsx"].grading.level == "especially_serious"
    mixed = by_path["hr/mixed.csv"].grading
    assert (mixed.level, float(mixed.total)) == ("serious", 1.2)  # 30/50 + 3000/5000 (¶1(6))
    assert "serious-mixed" in mixed.rules
    assert [(c.name, c.count, c.threshold) for c in mixed.categories] == [
        ("property", 30, 50),
        ("other", 3000, 5000),
    ]
    leads = next(g for g in data.folders if g.key == f"{ROOT}/sales/leads")
    assert (leads.files, leads.flagged, leads.people) == (40, 0, 1200)  # no single file is bulk
    assert leads.grading.level == "tenth" and {h.rule for h in leads.hits} >= {"cumulative-bulk"}
    carol = next(g for g in data.owners if g.key == "carol")
    assert carol.people == 1200
    notes = {n.key for n in by_path["hr/mixed.csv"].notes}
    assert {"note.pipl_financial", "note.pipl_identity", "note.jr_c2"} <= notes


def test_triage_moves_false_positives_and_lapses_on_change(data):
    lapsed = next(r for r in data.findings if r.path.endswith("ops/lapsed.csv"))
    assert lapsed.triage["status"] == "false-positive" and not lapsed.triage["applies"]
    assert data.remediation_counts == {"untriaged": 2, "open": 1, "fp_lapsed": 1}
    decisions = {t["path"].removeprefix(ROOT + "/"): t for t in data.triage}
    assert decisions["ops/resolved.csv"]["in_scan"] is False  # dropped by the second scan
    assert decisions["ops/fp.csv"]["in_scan"] is True


def test_coverage_gaps_list_every_unread_file_with_its_reason(data):
    assert dict(data.gap_counts) == {
        ("encrypted", "password-protected archive"): 1,
        ("skipped", "larger than 2048 MB"): 1,
        ("error", "malformed PDF"): 1,
    }
    assert sorted(r.path.removeprefix(ROOT + "/") for r in data.gaps) == [
        "big.iso",
        "broken.pdf",
        "secret.zip",
    ]


def test_scan_selection_policy_and_errors(built):
    with Store.open(built[0]) as store:
        first = collect(store, Options(scan_id=1))
        assert first.scan["id"] == 1 and first.previous is None and len(first.history) == 1
        assert any(r.path.endswith("ops/resolved.csv") for r in first.findings)
        later = collect(store, Options(since=first.scan["finished"] + 0.001))
        assert later.scan["id"] == 2 and [h["scan_id"] for h in later.history] == [2]
        judicial = collect(store, Options(policy="judicial-2017"))
        assert judicial.policy_note[0] == "scope.policy_reevaluated"
        # 60 phones are bulk for `default` but 60/5000 is below a tenth of "serious"
        assert not any(r.path.endswith("ops/lapsed.csv") for r in judicial.findings)
        assert {r.path.removeprefix(ROOT + "/") for r in judicial.findings} == {
            "bank/cards_50.csv", "bank/cards_500.xlsx", "hr/mixed.csv"
        }  # fmt: skip
        with pytest.raises(ReportError, match="no scan with id 9"):
            collect(store, Options(scan_id=9))
        with pytest.raises(
            ReportError, match=r"no completed scan and no watch session .* in the given period"
        ):
            collect(store, Options(since=4_000_000_000))


def test_masked_samples_only():
    assert safe_sample("110101********123X") and safe_sample("6222 **** **** 1234")
    assert not safe_sample("13912345678")  # no mask at all
    assert not safe_sample("110101199001011237*")  # masked in name only
    assert not safe_sample("6222-0210-0000 123*")


# ---- the formats -----------------------------------------------------------------------------


def chromium_dom(page: Path, profile: Path) -> str:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium not installed (Debian packages chromium, chromium-driver)")
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}", "--dump-dom",
           page.as_uri()]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return done.stdout


def text_of(dom: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>([^<]*)<', dom)
    assert match, element_id
    return match.group(1).strip()


def test_html_in_chromium(outputs, data, tmp_path):
    page = outputs["en.html"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["'](https?:|//)|<link\b|@import|url\(\s*["']?https?:""", page)
    dom = chromium_dom(outputs["en.html"], tmp_path / "profile")
    assert text_of(dom, "kpi-flagged") == f"{len(data.findings):,}" == "4"
    assert text_of(dom, "kpi-people") == f"{data.people:,}" == "4,320"
    assert text_of(dom, "kpi-fp") == "1" and text_of(dom, "kpi-gaps") == "3"
    findings = re.search(r'id="findings-table".*?<tbody>(.*?)</tbody>', dom, re.S).group(1)
    assert findings.count("<tr") == 4
    charts = set(re.findall(r'<svg class="chart" id="chart-(\w+)"', dom))
    assert charts == {"severity", "folders", "owners", "trend"}
    assert "mixed.csv" in findings and f"{ROOT}/hr" not in findings  # paths relative to the one root
    zh = chromium_dom(outputs["zh.html"], tmp_path / "profile")
    assert "个人信息暴露审计报告" in zh and "情节严重" in zh


def test_pdf_text_and_pages(outputs, data, pdf_text, tmp_path):
    text = pdf_text
    with pdfplumber.open(outputs["zh.pdf"]) as pdf:
        fonts = {c["fontname"] for c in pdf.pages[0].chars if ord(c["text"]) > 0x3000}
    assert "个人信息暴露审计报告" in text
    assert any("CJK" in f for f in fonts), fonts  # Chinese glyphs come from an embedded CJK font
    assert f"{data.people:,}" in text and "共扫描 49 个条目" in text
    assert "发现明细 (4)" in text and "已标记为误报 (1)" in text
    assert text.count("hr/mixed.csv") >= 2  # legal mapping and findings
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm not installed (Debian package poppler-utils)")
    subprocess.run(["pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "2", str(outputs["zh.pdf"]),
                    str(tmp_path / "page")], check=True, timeout=60)  # fmt: skip
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 2 and all(p.stat().st_size > 5000 for p in pages)


def test_csv_and_xlsx_tables(outputs, data):
    with open(outputs["en.csv"], encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == data.items
    mixed = next(r for r in rows if r["path"] == f"{ROOT}/hr/mixed.csv")
    assert (mixed["CN_RESIDENT_ID_distinct"], mixed["CN_BANK_CARD_distinct"], mixed["people"]) == (
        "3000",
        "30",
        "3000",
    )
    assert (mixed["judicial_2017_level"], mixed["judicial_2017_weighted_sum"], mixed["finding"]) == (
        "serious",
        "1.2",
        "True",
    )
    fp_row = next(r for r in rows if r["path"].endswith("ops/fp.csv"))
    assert (fp_row["flagged"], fp_row["false_positive"], fp_row["finding"]) == ("True", "True", "False")
    cards = next(r for r in rows if r["path"].endswith("cards_500.xlsx"))
    assert cards["triage_note"] == "'=1+1 owner told, SEC-51"  # no formula injection
    assert next(r for r in rows if r["path"].endswith("secret.zip"))["reason"] == "password-protected archive"
    book = openpyxl.load_workbook(outputs["en.xlsx"], read_only=True)
    assert book.sheetnames == ["Files", "Folders", "Owners", "Scans", "Scope"]
    files = list(book["Files"].iter_rows(values_only=True))
    assert len(files) == data.items + 1
    header = files[0]
    note = next(r for r in files if r[0].endswith("cards_500.xlsx"))[header.index("triage_note")]
    assert note == "=1+1 owner told, SEC-51"  # stored as text, not as a formula
    folders = {r[0]: r for r in book["Folders"].iter_rows(min_row=2, values_only=True)}
    assert folders[f"{ROOT}/sales/leads"][1:4] == (40, 0, 1200)
    scope = dict(book["Scope"].iter_rows(values_only=True))
    assert (scope["findings"], scope["distinct_people"], scope["not_read"]) == (4, 4320, 3)


def test_cli_report(built, tmp_path):
    runner = CliRunner()
    out = tmp_path / "r.csv"
    ok = runner.invoke(main, ["report", "--db", built[0], "--format", "csv", "--output", str(out)])
    assert ok.exit_code == 0, ok.output
    assert "4 flagged files, 4,320 distinct people, 3 files not read" in ok.output
    both = runner.invoke(main, ["report", "--db", built[0], "--scan", "1", "--since", "2024-01-01",
                                "--format", "csv", "-o", str(out)])  # fmt: skip
    assert both.exit_code == 2 and "not both" in both.output
    missing = runner.invoke(
        main, ["report", "--db", built[0], "--scan", "7", "--format", "html", "-o", str(out)]
    )
    assert missing.exit_code == 2 and "no scan with id 7" in missing.output
    assert not list(tmp_path.glob(".*.part"))


# ---- leaks -----------------------------------------------------------------------------------

ENCODINGS = ("utf-8", "gbk", "utf-16-le")
RUN = re.compile(r"[0-9A-Za-z]{8,}")


def leaks(blob: bytes, values: set[str]) -> set[str]:
    """Values found whole in the blob read as UTF-8, GBK or UTF-16-LE (every substring of every run)."""
    lengths = {len(v) for v in values}
    found = set()
    for enc in ENCODINGS:
        for run in RUN.findall(blob.decode(enc, "ignore")):
            found |= {run[i : i + n] for n in lengths for i in range(len(run) - n + 1)} & values
    return found


@pytest.fixture(scope="module")
def pdf_text(outputs) -> str:
    with pdfplumber.open(outputs["zh.pdf"]) as pdf:
        return "\n".join(page.extract_text() or "" for page in pdf.pages)


@pytest.fixture(scope="module")
def readable(outputs, pdf_text) -> dict[str, bytes]:
    """Each file, plus what a reader sees in it: the PDF's text, the XML parts inside the XLSX."""
    out = {}
    for name, path in outputs.items():
        blob = path.read_bytes()
        if path.suffix == ".pdf":
            blob += pdf_text.encode()
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as z:
                blob += b"".join(z.read(n) for n in z.namelist())
        out[name] = blob
    return out


def test_no_raw_value_or_fingerprint_in_any_output(built, readable):
    raw = set().union(*built[1].values.values())
    fingerprints = {fp(v)[:16] for v in raw}
    one = min(built[1].values["CN_MOBILE"])
    assert leaks(f"x {one} y".encode("utf-16-le"), raw) == {one}  # the check itself can fail
    assert set(readable) == {"en.html", "zh.html", "zh.pdf", "en.csv", "en.xlsx"}
    for name, blob in readable.items():
        assert not leaks(blob, raw), f"{name}: raw values in the report"
        hexes = set(re.findall(r"[0-9a-f]{16,}", blob.decode("utf-8", "ignore")))
        assert not {h[i : i + 16] for h in hexes for i in range(len(h) - 15)} & fingerprints, name


@pytest.mark.parametrize(
    "counts",
    [{"CN_MOBILE": 499}, {"CN_MOBILE": 500}, {"CN_BANK_CARD": 4}, {"CN_BANK_CARD": 5}, {"CN_LICENSE_PLATE": 25},
     {"CN_BANK_CARD": 2, "CN_RESIDENT_ID": 250}, {"CN_RESIDENT_ID": 50_000}, {}],
)  # fmt: skip
def test_grading_shortcut_agrees_with_the_policy(counts):
    judicial = load_policy("judicial-2017")
    r = FileResult("x.csv", Status.SCANNED, entities={t: EntityStats(n, n) for t, n in counts.items()})
    grading = Grader(judicial).file(r)
    assert grading.rules == tuple(h.rule for h in evaluate(judicial, r)[2])
    assert (grading.level == "below") == (grading.total < Fraction(1, 10))


def test_pdf_page_caps_per_file_tables(data):
    page = render_html(data, "en", for_pdf=True, max_rows=2)
    findings = re.search(r'id="findings-table".*?<tbody>(.*?)</tbody>', page, re.S).group(1)
    assert findings.count("<tr") == 2
    assert "This PDF lists the first 2 of 4 rows" in page
    assert 'id="filter"' not in page and "<script" not in page


def test_file_names_and_notes_are_escaped(data):
    hostile = copy.deepcopy(data)
    evil = "<img src=x onerror=alert(1)>"
    hostile.findings[0].owner = evil
    hostile.folders[0].key = f"{ROOT}/{evil}"  # also a chart label
    page = render_html(hostile, "en")
    assert evil not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
