"""Distinct people of a scan counted from the fingerprints the scan read, so that closing it does not
ask the store to count them again (a sort of every person-key fingerprint of the scan in SQL).

The count is the store's (`store.exposure.count_people`: the largest distinct count among the
person-key types over the scan's files) only while this run recorded every file of the scan itself:
a file carried forward, resumed or refreshed from the store, or a result the store did not take,
leaves the count to the store. So does a scan with more fingerprints than MAX_DIGESTS (memory).
"""

from __future__ import annotations

from collections.abc import Iterable

from dlpscan.detect import compiled
from dlpscan.entities import EntityTypes
from dlpscan.model import DIGEST_BYTES, FileResult, Fingerprints

MAX_DIGESTS = 1_000_000  # 32 MB of digests at most are kept for the count
_NATIVE_FROM = 50_000  # fewer digests are counted in a Python set (no need to load the C module)


class PeopleCount:
    """The person-key fingerprints of the files one run records, per type."""

    def __init__(self, types: EntityTypes) -> None:
        self._types = types
        self._digests: dict[str, list[bytes]] | None = {t: [] for t in types.names(person_key=True)}
        self._held = 0

    def add(self, results: Iterable[FileResult]) -> None:
        """Files this run read and hands to the store."""
        if self._digests is None:
            return
        for r in results:
            for etype, stats in (r.entities or {}).items():
                kept = self._digests.get(etype)
                if kept is None or not stats.fingerprints:
                    continue
                if not isinstance(stats.fingerprints, Fingerprints):
                    self.give_up()
                    return
                kept.append(stats.fingerprints.digests)
                self._held += len(stats.fingerprints)
        if self._held > MAX_DIGESTS:
            self.give_up()

    def give_up(self) -> None:
        """A file of the scan whose fingerprints this run did not record: the store counts."""
        self._digests = None

    def total(self) -> int | None:
        """The scan's distinct people, or None when the store must count them."""
        if self._digests is None:
            return None
        return self._types.people({t: _distinct(parts) for t, parts in self._digests.items()})


def _distinct(parts: list[bytes]) -> int:
    held = sum(len(p) for p in parts) // DIGEST_BYTES
    native = compiled.native() if held >= _NATIVE_FROM else None
    if native is not None:
        return native.count_distinct_digests(parts)
    return len({p[i : i + DIGEST_BYTES] for p in parts for i in range(0, len(p), DIGEST_BYTES)})
