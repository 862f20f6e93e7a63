"""The EDM key and the keyed digests made with it (HMAC-SHA256, truncated).

The EDM key is not the report fingerprint key: report fingerprints are full HMACs of values that
auditors receive, and an index must not be testable with them. Every digest is domain-separated
(`v` value, `r` row, `c` corroboration, `id` key id), so no two kinds can be confused:

- value digest  = HMAC(key, "dlpscan-edm/v" 0 type 0 value)[:8]   (a looked-up or nearby value)
- row key       = HMAC(key, "dlpscan-edm/r" 0 primary value digests of the row)[:8]
- corroboration = HMAC(key, "dlpscan-edm/c" 0 row key, value digest)[:4]   (a field of that row)
- key id        = HMAC(key, "dlpscan-edm/id")[:8], in hex: names the key, reveals nothing of it

Truncation lengths and their collision rates are argued in docs/edm.md.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable, Sequence
from pathlib import Path

from dlpscan.edm.errors import EdmError

DIGEST_BYTES = 8  # value digests and row keys
CORR_BYTES = 4  # corroboration digests: compared only against the fields of one hit row
MIN_KEY_BYTES = 16
_PREFIX = b"dlpscan-edm/"


def load_key(value: str | None, key_file: str | None) -> bytes | None:
    """The EDM key from a setting or a key file (its first line); None when neither is given.

    Like the fingerprint key, the key is the UTF-8 bytes of the string. Keys shorter than 16
    bytes are refused: the key is what keeps an index from being brute-forced.
    """
    if value:
        key = value.encode("utf-8")
    elif key_file:
        try:
            key = Path(key_file).read_text(encoding="utf-8").strip().encode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise EdmError(f"cannot read the EDM key file {key_file}: {type(exc).__name__}") from None
    else:
        return None
    if len(key) < MIN_KEY_BYTES:
        raise EdmError(
            f"the EDM key is too short ({len(key)} bytes; at least {MIN_KEY_BYTES}); "
            "make one with: dlpscan edm keygen --out edm.key"
        )
    return key


def new_key_file(path: Path) -> None:
    """Write a new random key (64 hex characters) to a file that did not exist, mode 0600."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise EdmError(f"{path} exists; a key is never overwritten") from None
    except OSError as exc:
        raise EdmError(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secrets.token_hex(32) + "\n")


def key_id(key: bytes) -> str:
    return hmac.digest(key, _PREFIX + b"id", "sha256")[:DIGEST_BYTES].hex()


class Digester:
    """The keyed digests of one EDM key. HMAC pads are hashed once (RFC 2104) and the prefix of
    each type once more, so a value costs two hash-object copies (about 0.7 µs)."""

    def __init__(self, key: bytes) -> None:
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        self._typed: dict[str, hashlib._Hash] = {}
        self._row = self._prefixed(b"r\0")
        self._corr = self._prefixed(b"c\0")
        self.key_id = key_id(key)

    def _prefixed(self, prefix: bytes) -> hashlib._Hash:
        state = self._inner.copy()
        state.update(_PREFIX + prefix)
        return state

    def _typed_state(self, entity_type: str) -> hashlib._Hash:
        typed = self._typed.get(entity_type)
        if typed is None:
            typed = self._typed[entity_type] = self._prefixed(b"v\0" + entity_type.encode() + b"\0")
        return typed

    def value_digest(self, entity_type: str, value: str) -> bytes:
        """The 8-byte digest of one normalised value."""
        inner = self._typed_state(entity_type).copy()
        inner.update(value.encode("utf-8"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:DIGEST_BYTES]

    def value_digests(self, entity_type: str, values: Iterable[str]) -> list[bytes]:
        """8-byte digests of normalised values of one entity type (`value_digest` for many)."""
        copy_inner, copy_outer = self._typed_state(entity_type).copy, self._outer.copy
        out = []
        for value in values:
            inner = copy_inner()
            inner.update(value.encode("utf-8"))
            outer = copy_outer()
            outer.update(inner.digest())
            out.append(outer.digest()[:DIGEST_BYTES])
        return out

    def row_keys(self, primary_digests: bytes, width: int) -> bytes:
        """8-byte identities of master rows, from each row's `width` bytes of primary value digests
        (zeros where a primary cell is empty). Stable across rebuilds while a row's primary values
        stay, so matched rows are counted across files scanned with different builds of an index."""
        copy_inner, copy_outer = self._row.copy, self._outer.copy
        out = bytearray()
        for start in range(0, len(primary_digests), width):
            inner = copy_inner()
            inner.update(primary_digests[start : start + width])
            outer = copy_outer()
            outer.update(inner.digest())
            out += outer.digest()[:DIGEST_BYTES]
        return bytes(out)

    def corroboration(self, row_key: bytes, value_digest: bytes) -> int:
        """`corroborations` of one pair."""
        return self.corroborations((row_key,), value_digest)[0]

    def corroborations(self, row_keys: Sequence[bytes], value_digests: bytes) -> list[int]:
        """Fields of master rows, each bound to its row (so equal names in two rows look unrelated):
        one u32 per (row key, 8-byte value digest) pair; never 0, which marks an empty field."""
        copy_inner, copy_outer = self._corr.copy, self._outer.copy
        out = []
        for i, row_key in enumerate(row_keys):
            inner = copy_inner()
            inner.update(row_key)
            inner.update(value_digests[i * DIGEST_BYTES : (i + 1) * DIGEST_BYTES])
            outer = copy_outer()
            outer.update(inner.digest())
            out.append(int.from_bytes(outer.digest()[:CORR_BYTES], "little") or 1)
        return out
