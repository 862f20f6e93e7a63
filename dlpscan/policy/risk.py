"""Risk = sensitivity x exposure (docs/exposure.md): how bad a file is, given who can read it.

Sensitivity is the policy's severity of the file. The grade comes from a matrix (a serious, `high`
file readable organisation-wide is `high`, readable by anyone `critical`); the score (0-100) sorts
files by the product of the two ranks. Unknown exposure grades like a named group's: it is neither
assumed open nor assumed closed. `stale` (not modified for N days) is a separate flag: old bulk
exports nobody uses are the first to delete, but age does not change who can read them.
"""

from __future__ import annotations

from dlpscan.access import UNKNOWN
from dlpscan.model import FileResult

SENSITIVITY = ("none", "low", "medium", "high", "critical")
EXPOSURE_WEIGHT = {"owner": 1, "group": 2, UNKNOWN: 2, "organisation": 3, "public": 4}

# MATRIX[severity][exposure] -> risk
MATRIX: dict[str, dict[str, str]] = {
    "none": dict.fromkeys(EXPOSURE_WEIGHT, "none"),
    "low": {"owner": "low", "group": "low", UNKNOWN: "low", "organisation": "low", "public": "medium"},
    "medium": {"owner": "low", "group": "low", UNKNOWN: "medium", "organisation": "medium", "public": "high"},
    "high": {
        "owner": "medium",
        "group": "medium",
        UNKNOWN: "high",
        "organisation": "high",
        "public": "critical",
    },
    "critical": {
        "owner": "medium",
        "group": "high",
        UNKNOWN: "high",
        "organisation": "critical",
        "public": "critical",
    },
}
DAY = 86_400.0


def grade(severity: str, level: str | None) -> tuple[str, int]:
    """(risk, score 0-100) of a file of this severity at this exposure level (None: unknown)."""
    level = level if level in EXPOSURE_WEIGHT else UNKNOWN
    score = SENSITIVITY.index(severity) * EXPOSURE_WEIGHT[level] * 100 // 16
    return MATRIX[severity][level], score


def is_stale(mtime: float | None, now: float, stale_days: int) -> bool:
    return mtime is not None and now - mtime >= stale_days * DAY


def rate(result: FileResult, now: float, stale_days: int) -> None:
    """Set `risk`, `risk_score` and `stale` of a result from its severity, access and mtime."""
    result.risk, result.risk_score = grade(result.severity, result.access.level if result.access else None)
    result.stale = is_stale(result.mtime, now, stale_days)
