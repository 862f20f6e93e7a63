"""The `dlpscan` executable: the fork server starts first for the commands that read files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dlpscan import launch
from dlpscan.launch import command_name
from dlpscan.store import Store


@pytest.mark.parametrize(
    ("argv", "name"),
    [
        (["scan", "share/"], "scan"),
        (["--config", "scan.toml", "watch"], "watch"),
        (["--config", "watch"], None),  # the option's value, not a command
        (["--version"], None),
        ([], None),
        (["-h"], None),
        (["db", "files", "--severity", "high"], "db"),
    ],
)
def test_the_command_is_found_after_the_root_options(argv, name):
    assert command_name(argv) == name


@pytest.mark.parametrize(
    ("command", "early"), [("scan", True), ("watch", True), ("db", False), ("report", False)]
)
def test_only_the_commands_that_read_files_start_the_fork_server(monkeypatch, command, early):
    started = []
    monkeypatch.setattr(launch, "start_forkserver", lambda: started.append(True))
    monkeypatch.setattr(sys, "argv", ["dlpscan", command, "--help"])
    with pytest.raises(SystemExit) as ended:
        launch.main()
    assert ended.value.code == 0
    assert bool(started) is early


def test_the_installed_executable_scans(tmp_path: Path):
    executable = Path(sys.executable).with_name("dlpscan")
    assert executable.is_file(), "pip install -e . installs the dlpscan executable beside the interpreter"
    sample = tmp_path / "客户.txt"
    sample.write_text("客户 张三 手机 13800138000\n", encoding="utf-8")
    report = tmp_path / "r.jsonl"
    proc = subprocess.run(
        [
            str(executable),
            "scan",
            str(sample),
            "--db",
            str(tmp_path / "s.sqlite"),
            "--format",
            "jsonl",
            "--output",
            str(report),
            "--fingerprint-key",
            "k",
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (line,) = [json.loads(x) for x in report.read_text(encoding="utf-8").splitlines()]
    assert line["status"] == "scanned"
    assert line["entities"]["CN_MOBILE"]["distinct"] == 1
    assert "13800138000" not in report.read_text(encoding="utf-8")


def test_a_scans_parent_leaves_reading_and_detecting_to_its_workers(tmp_path: Path):
    """The parent only dispatches files: the readers, the engine and alembic (for a store already
    at the newest schema) stay out of it, which is most of a small scan's start-up."""
    sample = tmp_path / "客户.txt"
    sample.write_text("客户 张三 手机 13800138000\n", encoding="utf-8")
    store = str(tmp_path / "s.sqlite")
    Store.open(store).close()  # created (and migrated) here, so the scan below opens a store at head
    code = f"""
import sys
from click.testing import CliRunner
from dlpscan.cli import main
report = {str(tmp_path / "r.jsonl")!r}
args = ["scan", {str(sample)!r}, "--db", {store!r}, "-j", "1", "-q", "--format", "jsonl", "--output", report]
result = CliRunner().invoke(main, args)
assert result.exit_code == 0, result.output
assert '"CN_MOBILE"' in open(report, encoding="utf-8").read()
heavy = ("dlpscan.pipeline", "dlpscan.extract.documents", "dlpscan.detect.engine", "alembic")
print(sorted(m for m in heavy if m in sys.modules))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


def test_the_fork_server_reads_the_definitions_tables_and_suffix_list_for_its_workers():
    code = """
from dlpscan.detect import tables, validators
from dlpscan.detect.registry import _load
import dlpscan.detect.warm
print(tables.divisions.cache_info().currsize, tables.bank_bins.cache_info().currsize, _load.cache_info().currsize,
      validators._tld_extractor.cache_info().currsize, validators._has_public_suffix.cache_info().currsize)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["1", "1", "1", "1", "1"]
