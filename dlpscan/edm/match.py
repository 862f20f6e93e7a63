"""A document's evidence against an index: distinct master rows matched, high or medium.

A primary value found in the document is looked up (binary search in the mapped digest array).
A hit row is *high* when another field of the same master row is near it: in the same table row,
or within the index's window of characters in text (Purview's proximity). That field is either
another primary value resolving to the same row, or a corroborating value whose digest, bound to
the row, equals the row's stored corroboration digest. Otherwise the row is *medium*.
"""

from __future__ import annotations

import numpy as np

from dlpscan.edm.evidence import Evidence
from dlpscan.edm.index import EdmIndex
from dlpscan.edm.keys import DIGEST_BYTES, Digester
from dlpscan.model import EdmMatch

_PLACE_BITS = 32


def match(evidence: Evidence, index: EdmIndex, digester: Digester) -> EdmMatch:
    header = index.header
    result = EdmMatch(header.name, header.version, header.key_id)
    primary_codes = [i for i, t in enumerate(evidence.types) if t in header.primary_types]
    candidates = np.flatnonzero(np.isin(evidence.type_code, primary_codes))
    if not len(candidates):
        return result
    which, rows = index.rows_of(evidence.digest[candidates])
    if not len(rows):
        return result
    occurrences = candidates[which]
    high = _by_primaries(evidence, occurrences, rows, header.window)
    high |= _by_fields(evidence, occurrences, rows, high, index, digester)
    matched = np.unique(rows)
    keys = np.unique(np.asarray(index.row_key[matched]))
    high_keys = np.unique(np.asarray(index.row_key[np.fromiter(high, dtype=np.int64, count=len(high))]))
    result.row_keys, result.high_keys = keys.astype("<u8").tobytes(), high_keys.astype("<u8").tobytes()
    result.high, result.medium = len(high_keys), len(keys) - len(high_keys)
    return result


def _windows(evidence: Evidence, occurrences: np.ndarray, window: int) -> np.ndarray:
    """How far from each occurrence a neighbour may be: 0 (same row) in tables, `window` in text."""
    return np.where(evidence.table[occurrences], 0, window).astype(np.int64)


def _by_primaries(evidence: Evidence, occurrences: np.ndarray, rows: np.ndarray, window: int) -> set[int]:
    """Rows hit by two different primary values near each other. Sorted by (row, block, place), a
    row has such a pair exactly when some adjacent pair has one (between the two, the digest must
    change somewhere, and no step is longer than the whole distance)."""
    block, place = evidence.block[occurrences], evidence.place[occurrences].astype(np.int64)
    order = np.lexsort((place, block, rows))
    r, b, p = rows[order], block[order], place[order]
    d, reach = evidence.digest[occurrences][order], _windows(evidence, occurrences[order], window)
    near = (r[1:] == r[:-1]) & (b[1:] == b[:-1]) & (d[1:] != d[:-1]) & (p[1:] - p[:-1] <= reach[1:])
    return {int(x) for x in r[1:][near]}


def _by_fields(
    evidence: Evidence,
    occurrences: np.ndarray,
    rows: np.ndarray,
    high: set[int],
    index: EdmIndex,
    digester: Digester,
) -> set[int]:
    """Rows (not yet high) with a corroborating field of theirs near one of their primary hits."""
    columns_of: dict[int, list[int]] = {}
    for k, etype in enumerate(index.corr_types):
        if etype in evidence.types:
            columns_of.setdefault(evidence.types.index(etype), []).append(k)
    pending = [i for i, r in enumerate(rows) if int(r) not in high]
    if not columns_of or not pending:
        return set()
    fields = np.flatnonzero(np.isin(evidence.type_code, list(columns_of)))
    if not len(fields):
        return set()
    key = (evidence.block[fields].astype(np.int64) << _PLACE_BITS) | evidence.place[fields]
    order = np.argsort(key, kind="stable")
    fields, key = fields[order], key[order]
    hits = occurrences[pending]
    base = evidence.block[hits].astype(np.int64) << _PLACE_BITS
    place, reach = evidence.place[hits].astype(np.int64), _windows(evidence, hits, index.header.window)
    lo = np.searchsorted(key, base | np.maximum(place - reach, 0), side="left")
    hi = np.searchsorted(key, base | np.minimum(place + reach, (1 << _PLACE_BITS) - 1), side="right")
    found: set[int] = set()
    digests, codes = evidence.digest, evidence.type_code
    for n, i in enumerate(pending):
        row = int(rows[i])
        if row in found or lo[n] == hi[n]:
            continue
        own = digests[occurrences[i]]
        row_key = int(index.row_key[row]).to_bytes(DIGEST_BYTES, "little")
        stored = index.corr[row]
        for j in fields[lo[n] : hi[n]]:
            if digests[j] == own:
                continue
            value = int(digests[j]).to_bytes(DIGEST_BYTES, "little")
            if digester.corroboration(row_key, value) in stored[columns_of[int(codes[j])]]:
                found.add(row)
                break
    return found
