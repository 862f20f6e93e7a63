"""How sure and where: the per-type confidence and the location sample every output shows.

Pure functions over `model.EntityStats`, shared by the report line, the CSV, the store, the terminal
listing and the auditor report, so they all say the same.
"""

from __future__ import annotations

import re

from dlpscan.entities import EntityType, EntityTypes
from dlpscan.model import EntityStats, FileResult

# The share of a type's distinct values that a column header or a label confirmed (the others matched
# the pattern and its validator alone), at least -> level. Documented in docs/report-contract.md.
CONFIDENCE_LEVELS = ((0.8, "high"), (0.2, "medium"), (0.0, "low"))
MAX_LOCATION_CHARS = 120
# A location names a sheet, row, page, line or archive member; a long run of digits in one may be a
# value copied from the file (a sheet named after an ID number), so such a location is never shown.
_VALUE_LIKE = re.compile(r"[0-9０-９]{8,}")
_SEPARATORS = re.compile(r"[\s\-‐–—_.]")
# A masked sample never has 7 visible digits in a row (IDs keep 6+4, cards 4+4, phones 3+4).
_UNMASKED_DIGITS = re.compile(r"\d{7,}")


def confidence(stats: EntityStats) -> str:
    """`high` when at least 80 % of the distinct values were confirmed by a header or label,
    `medium` from 20 %, `low` below."""
    share = stats.confirmed / stats.distinct if stats.distinct else 0.0
    return next(level for at_least, level in CONFIDENCE_LEVELS if share >= at_least)


def safe_location(location: str) -> bool:
    """Short, and no run of 8 or more digits (separators ignored): it cannot hold an identifier."""
    return 0 < len(location) <= MAX_LOCATION_CHARS and not _VALUE_LIKE.search(_SEPARATORS.sub("", location))


def shown_locations(stats: EntityStats) -> list[str]:
    """The locations of the sample that are safe to show, in the order found."""
    return [loc for loc in stats.locations if safe_location(loc)]


def safe_sample(sample: str) -> bool:
    """A second guard after the store's: masked (has '*') and no long run of visible digits."""
    compact = sample.replace(" ", "").replace("-", "")
    return "*" in sample and not _UNMASKED_DIGITS.search(compact)


def telling(t: EntityType) -> tuple:
    """Sort key: the most telling types first (an ID or a card says more to a reader than an address;
    organisation codes last)."""
    return (not t.personal_data, not t.person_key, t.sensitive is None, t.order, t.name)


def pick_samples(result: FileResult, limit: int, types: EntityTypes) -> list[tuple[str, str]]:
    """Up to `limit` safe masked samples as (type, sample), one per type first, most telling first."""
    order = sorted(result.entities, key=lambda name: telling(types.of(name)))
    pools = [[s for s in result.entities[t].samples if safe_sample(s)] for t in order]
    picked: list[tuple[str, str]] = []
    for i in range(limit):
        for etype, pool in zip(order, pools, strict=True):
            if i < len(pool) and len(picked) < limit:
                picked.append((etype, pool[i]))
    return picked


def ranked_types(result: FileResult, types: EntityTypes) -> list[tuple[str, EntityStats]]:
    """Most distinct values first; ties: the most telling type first (IDs before addresses)."""
    return sorted(result.entities.items(), key=lambda kv: (-kv[1].distinct, telling(types.of(kv[0]))))
