"""The per-file time limit holds even when Python drops the alarm's exception."""

from __future__ import annotations

import signal

from dlpscan.extract.limits import Limits
from dlpscan.model import Status
from dlpscan.pipeline import FileDeadline, FileScanner, ScanSettings


def test_a_swallowed_deadline_still_stops_reading_at_the_next_block(tmp_path):
    """An exception raised while a finalizer (`__del__`) runs is printed and dropped, and the alarm
    may fire exactly then. Here the engine drops it the same way: reading must still stop."""
    lines = "".join(f"客户{n}，备注：第{n}行记录，手机：139{n:08d}。\n" for n in range(6000))
    path = tmp_path / "big.txt"
    path.write_text(lines, encoding="utf-8")
    scanner = FileScanner(ScanSettings(key=b"k", limits=Limits(text_block_chars=20_000)))
    scan, blocks = scanner.engine.scan_block, []

    def swallowing(block):
        blocks.append(block)
        try:
            if len(blocks) == 3:
                signal.raise_signal(signal.SIGALRM)  # the deadline passes while this block is read
            return scan(block)
        except FileDeadline:
            return [], None

    scanner.engine.scan_block = swallowing
    [result] = scanner.scan_path(path, path.name, time_limit=60)
    assert len(blocks) == 3
    assert result.status is Status.PARTIAL
    assert result.reason.startswith("per-file time limit reached")
    assert 0 < result.entities["CN_MOBILE"].total < 6000
