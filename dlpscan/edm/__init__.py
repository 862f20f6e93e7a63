"""Exact data match (issue #16): find a company's own customers, counted as distinct master rows.

A customer master table is hashed once, offline, into a `.edm` index of keyed digests
(`build`); scans look up the values the recognizers found (`evidence`, `match`). Nothing here
writes a raw or normalised value: the index, the per-file evidence and every message hold keyed
digests, counts and row numbers only. See docs/edm.md for the design and the threat model.
"""

from dlpscan.edm.errors import EdmError

__all__ = ["EdmError"]
