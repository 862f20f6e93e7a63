"""The small things a user meets: --version, shell completion, the db tables at 80 columns, and a PDF
report that prints no third-party warnings (one line when no CJK font is installed)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console
from test_listing import flagged_result
from test_watch import DLPSCAN

from dlpscan.cli import main
from dlpscan.detect.registry import definitions_version, load_definitions
from dlpscan.policy import builtin_policies, load_policy
from dlpscan.store import Exposure, Store
from dlpscan.ui import print_exposure

DEJAVU = Path("/usr/share/fonts/truetype/dejavu")


def test_version_names_the_recognizer_and_policy_versions() -> None:
    out = CliRunner().invoke(main, ["--version"]).output.splitlines()
    assert re.fullmatch(r"dlpscan \d+\.\d+\.\d+\S* \(detection code [0-9a-f]{8}\)", out[0])
    assert out[1] == f"recognizers {definitions_version()}: {len(load_definitions())} entity types"
    assert out[2] == "policies: " + ", ".join(f"{n} {load_policy(n).version}" for n in builtin_policies())


def test_shell_completion_is_clicks() -> None:
    def complete(**env: str) -> str:
        done = subprocess.run(
            [DLPSCAN], capture_output=True, text=True, timeout=60, env={**os.environ, **env}
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert "_dlpscan_completion" in complete(_DLPSCAN_COMPLETE="bash_source")
    words = complete(_DLPSCAN_COMPLETE="bash_complete", COMP_WORDS="dlpscan db ", COMP_CWORD="2")
    assert {"plain,files", "plain,exposure", "plain,scans"} <= set(words.split())


def test_db_exposure_wraps_long_folder_paths() -> None:
    prefix = "/srv/share/departments/customer-service/exports/2024"
    keys = [f"{prefix}/east-region-{i}/weekly" for i in range(3)]
    out = io.StringIO()
    print_exposure(
        "folder", [Exposure(k, 4, 1, 900, {"CN_MOBILE": 900}) for k in keys], {}, Console(file=out, width=80)
    )
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80 and "…" not in out.getvalue()
    body = lines[lines.index(next(line for line in lines if line.startswith("─"))) + 1 :]
    assert "".join(line.split("  ")[0].strip() for line in body if line.strip()) == "".join(keys)


def test_db_scans_is_a_table(tmp_path: Path) -> None:
    url = str(tmp_path / "s.sqlite")
    with Store.open(url) as store:
        sid = store.begin_scan(["/srv/share/hr"], policy="default", policy_version="1", detector_version="d",
                               options={})  # fmt: skip
        store.record_results(sid, [flagged_result()])
        store.finish_scan(sid, status="completed", stats={"files": 1, "flagged": 1})
        watch = store.begin_scan(["/srv/share"], policy="default", policy_version="1", detector_version="d",
                                 options={}, kind="watch")  # fmt: skip
    table = CliRunner().invoke(main, ["db", "scans", "--db", url], env={"COLUMNS": "80"}).output
    header = next(line for line in table.splitlines() if "roots" in line)
    assert header.split() == ["id", "roots", "started", "status", "files", "flagged", "people", "policy"]
    assert re.search(rf"^\s*{watch}\s+/srv/share\s+\S+\s+watch,\s+–\s+–\s+–\s+default", table, re.M)
    assert re.search(rf"^\s*{sid}\s+/srv/share/hr\s+\S+\s+completed\s+1\s+1\s+0\s+default", table, re.M)
    lines = CliRunner().invoke(main, ["db", "scans", "--db", url, "--json"]).output.splitlines()
    assert [json.loads(x)["id"] for x in lines] == [watch, sid]


@pytest.fixture(scope="module")
def small_store(tmp_path_factory) -> str:
    url = str(tmp_path_factory.mktemp("pdf") / "s.sqlite")
    with Store.open(url) as store:
        sid = store.begin_scan(["/srv/share"], policy="default", policy_version="1", detector_version="d",
                               options={})  # fmt: skip
        store.record_results(sid, [flagged_result(f"/srv/share/hr/客户{i}.xlsx") for i in range(3)])
        store.finish_scan(sid, status="completed", stats={"files": 3})
    return url


def pdf_report(url: str, out: Path, **env: str) -> list[str]:
    done = subprocess.run([DLPSCAN, "report", "--db", url, "--format", "pdf", "--lang", "zh", "-o", str(out)],
                          capture_output=True, text=True, timeout=240, env={**os.environ, **env})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert out.read_bytes().startswith(b"%PDF")
    return done.stderr.splitlines()


def test_pdf_report_prints_no_third_party_warnings(small_store: str, tmp_path: Path) -> None:
    assert pdf_report(small_store, tmp_path / "r.pdf") == [
        f"{tmp_path / 'r.pdf'}: scan 1, 3 flagged files, 0 distinct people, 0 files not read"
    ]


def test_a_missing_cjk_font_is_one_line(small_store: str, tmp_path: Path) -> None:
    if not DEJAVU.is_dir():
        pytest.skip(f"{DEJAVU} not installed (Debian package fonts-dejavu-core): no Latin-only font set")
    config = tmp_path / "fonts.conf"
    config.write_text(f'<?xml version="1.0"?>\n<fontconfig><dir>{DEJAVU}</dir><cachedir>{tmp_path}/fc</cachedir>'
                      "</fontconfig>\n", encoding="utf-8")  # fmt: skip
    stderr = pdf_report(small_store, tmp_path / "r.pdf", FONTCONFIG_FILE=str(config))
    assert len(stderr) == 2 and "no Chinese (CJK) font found" in stderr[0] and "fonts-noto-cjk" in stderr[0]
