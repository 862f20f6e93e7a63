"""The batch scan (`run_scan`) and the report-line helpers the watch daemon shares with it."""

from dlpscan.runner.lines import assess, entry_result, keyed, reassessed, reported, stamp, unchanged
from dlpscan.runner.record import ScanSummary
from dlpscan.runner.scan import ScanJob, run_scan

__all__ = [
    "ScanJob",
    "ScanSummary",
    "assess",
    "entry_result",
    "keyed",
    "reassessed",
    "reported",
    "run_scan",
    "stamp",
    "unchanged",
]
