"""The `dlpscan` executable: the fork server starts first for the commands that read files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dlpscan import launch
from dlpscan.launch import command_name


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
