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
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from dlpscan.detect import compiled
from dlpscan.edm.errors import EdmError

if TYPE_CHECKING:
    import numpy as np

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
    """The keyed digests of one EDM key. Where the compiled module is built, OpenSSL computes a batch
    of them in C (about 0.3 µs a value); elsewhere HMAC pads are hashed once (RFC 2104) and the
    prefix of each kind once more, so a value costs two hash-object copies (about 0.7 µs). Both give
    the same digests (tests/test_edm_build.py)."""

    def __init__(self, key: bytes, native: bool | None = None) -> None:
        """`native`: None uses the compiled module where it is built, False never, True requires it."""
        block = hashlib.sha256().block_size
        padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
        lib = compiled.native(native)
        self._native = lib.Fingerprints(key) if lib is not None else None
        self.key_id = key_id(key)

    def value_digest(self, entity_type: str, value: str) -> bytes:
        """The 8-byte digest of one normalised value."""
        return self.value_digests(entity_type, [value])[0]

    def value_digests(self, entity_type: str, values: Iterable[str]) -> list[bytes]:
        """8-byte digests of normalised values of one entity type (`value_digest` for many)."""
        prefix = _PREFIX + b"v\0" + entity_type.encode() + b"\0"
        if self._native is not None:
            joined = self._native.truncated(prefix, values, DIGEST_BYTES)
        else:
            joined = self._digests(prefix, (v.encode("utf-8") for v in values), DIGEST_BYTES)
        return [joined[i : i + DIGEST_BYTES] for i in range(0, len(joined), DIGEST_BYTES)]

    def row_keys(self, primary_digests: bytes, width: int) -> bytes:
        """8-byte identities of master rows, from each row's `width` bytes of primary value digests
        (zeros where a primary cell is empty). Stable across rebuilds while a row's primary values
        stay, so matched rows are counted across files scanned with different builds of an index."""
        return self._chunk_digests(_PREFIX + b"r\0", primary_digests, width, DIGEST_BYTES)

    def corroboration(self, row_key: bytes, value_digest: bytes) -> int:
        """`corroborations` of one pair."""
        return int(self.corroborations(row_key + value_digest)[0])

    def corroborations(self, pairs: bytes) -> np.ndarray:
        """Fields of master rows, each bound to its row (so equal names in two rows look unrelated):
        one u32 per 16-byte pair (8-byte row key, 8-byte value digest); never 0, which marks an
        empty field."""
        import numpy as np  # here, not at the top: a scan without an index never loads numpy

        joined = self._chunk_digests(_PREFIX + b"c\0", pairs, 2 * DIGEST_BYTES, CORR_BYTES)
        out = np.frombuffer(joined, dtype="<u4").copy()
        out[out == 0] = 1
        return out

    def _chunk_digests(self, prefix: bytes, data: bytes, chunk: int, width: int) -> bytes:
        if self._native is not None:
            return self._native.truncated_chunks(prefix, data, chunk, width)
        if len(data) % chunk:
            raise ValueError("the data is not a whole number of chunks")
        return self._digests(prefix, (data[i : i + chunk] for i in range(0, len(data), chunk)), width)

    def _digests(self, prefix: bytes, messages: Iterable[bytes], width: int) -> bytes:
        start = self._inner.copy()
        start.update(prefix)
        copy_inner, copy_outer = start.copy, self._outer.copy
        out = bytearray()
        for message in messages:
            inner = copy_inner()
            inner.update(message)
            outer = copy_outer()
            outer.update(inner.digest())
            out += outer.digest()[:width]
        return bytes(out)
