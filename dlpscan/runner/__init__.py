"""The batch scan (`run_scan`) and the report-line helpers the watch daemon shares with it."""

from dlpscan.runner.lines import entry_result, keyed, reported, stamp, unchanged
from dlpscan.runner.record import ScanSummary
from dlpscan.runner.scan import ScanJob, run_scan

__all__ = ["ScanJob", "ScanSummary", "entry_result", "keyed", "reported", "run_scan", "stamp", "unchanged"]
