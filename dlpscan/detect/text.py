"""Text folding and value normalisation (masking is the entity type's: dlpscan.entities).

Folding maps one character to one character, so offsets found in folded text are
valid in the original text too (Presidio relies on this).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dlpscan import plugins


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for i in range(10):
        table[0xFF10 + i] = str(i)
    for i in range(26):
        table[0xFF21 + i] = chr(ord("A") + i)
        table[0xFF41 + i] = chr(ord("a") + i)
    for src, dst in {
        "＋": "+",
        "－": "-",
        "—": "-",
        "–": "-",
        "‐": "-",
        "（": "(",
        "）": ")",
        "：": ":",
        "\u3000": " ",
        "\u00a0": " ",
        "＊": "*",
        "×": "*",
        "●": "*",
        "•": "*",
        "※": "*",
        "＃": "#",
        "＠": "@",
        "．": ".",
        "＿": "_",
    }.items():
        table[ord(src)] = dst
    return table


_FOLD = _build_fold_table()
_FOLDABLE = re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(_FOLD)) + "]+")


def fold(text: str) -> str:
    """Fold full-width forms, dashes, spaces and mask glyphs to ASCII, one char for one char.

    Only runs of foldable characters are translated: `str.translate` over a whole CJK text
    takes a slow path for every character.
    """
    return _FOLDABLE.sub(lambda m: m.group().translate(_FOLD), text)


def fold_utf8(text: str) -> tuple[str, bytes]:
    """`fold(text)` and its UTF-8 (surrogates passed, as Hyperscan reads a block): the reference of the
    compiled `fold_utf8`, which makes both in one pass."""
    folded = fold(text)
    return folded, folded.encode("utf-8", "surrogatepass")


_NON_DIGITS = re.compile(r"\D")
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s\-·.]")


def digits(value: str) -> str:
    return _NON_DIGITS.sub("", value)


_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def upper_alnum(value: str) -> str:
    return _NON_ALNUM.sub("", value).upper()


def lower(value: str) -> str:
    return value.strip().lower()


def no_space(value: str) -> str:
    return _SPACES.sub("", value)


_NAME_SEPARATORS = re.compile(r"[\s;]+")


def name(value: str) -> str:
    """Spaces dropped (names padded to line up: 孟  伟) and vCard's family;given joined."""
    return _NAME_SEPARATORS.sub("", value)


def plate(value: str) -> str:
    return _SEPARATORS.sub("", value).upper()


def mobile(value: str) -> str:
    """The 11 digits: drop +86 / 0086 / 86 / a leading domestic 0."""
    d = digits(value)
    return d[-11:] if len(d) > 11 else d


def landline(value: str) -> str:
    """Area code with its leading 0 plus the local number; no country code, no extension."""
    v = re.split(r"转|分机|ext\.?|[xX#]", value, maxsplit=1)[0]
    d = digits(v)
    for prefix in ("0086", "86"):
        stripped = v.lstrip(" (")
        if stripped.startswith(("+" + prefix[-2:], prefix)) and d.startswith(prefix):
            d = d[len(prefix) :]
            break
    if not d.startswith("0"):
        d = "0" + d
    return d


def known_normalisers() -> dict[str, Callable[[str], str]]:
    """The built-in normalisers plus those installed packages add (entry points `dlpscan.normalisers`)."""
    return plugins.with_plugins(plugins.NORMALISERS, NORMALISERS)


NORMALISERS: dict[str, Callable[[str], str]] = {
    "digits": digits,
    "upper_alnum": upper_alnum,
    "lower": lower,
    "no_space": no_space,
    "name": name,
    "plate": plate,
    "mobile": mobile,
    "landline": landline,
}
