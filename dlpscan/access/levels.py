"""Exposure levels, narrowest first. `unknown` is kept apart: it is not an audience."""

from __future__ import annotations

LEVELS = ("owner", "group", "organisation", "public")
UNKNOWN = "unknown"
ALL_LEVELS = (*LEVELS, UNKNOWN)


def rank(level: str) -> int:
    """0 (owner) .. 3 (public); `unknown` ranks -1."""
    return LEVELS.index(level) if level in LEVELS else -1


def widest(levels: list[str]) -> str:
    return max(levels, key=rank, default=UNKNOWN)


def at_least(level: str | None, minimum: str) -> bool:
    """Whether a file of `level` is exposed at least to `minimum`. Unknown exposure (None included)
    counts as reaching it: a rule is never silenced because permissions could not be read."""
    return level is None or level == UNKNOWN or rank(level) >= rank(minimum)
