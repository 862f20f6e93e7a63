"""Text folding, value normalisation and masking.

Folding maps one character to one character, so offsets found in folded text are
valid in the original text too (Presidio relies on this).
"""

from __future__ import annotations

import re
from collections.abc import Callable


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


_NON_DIGITS = re.compile(r"\D")
_SPACES = re.compile(r"\s+")
_SEPARATORS = re.compile(r"[\s\-·.]")


def digits(value: str) -> str:
    return _NON_DIGITS.sub("", value)


def upper_alnum(value: str) -> str:
    return re.sub(r"[^0-9A-Za-z]", "", value).upper()


def lower(value: str) -> str:
    return value.strip().lower()


def no_space(value: str) -> str:
    return _SPACES.sub("", value)


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


NORMALISERS: dict[str, Callable[[str], str]] = {
    "digits": digits,
    "upper_alnum": upper_alnum,
    "lower": lower,
    "no_space": no_space,
    "plate": plate,
    "mobile": mobile,
    "landline": landline,
}


def _keep_ends(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_card(value: str) -> str:
    """`6222 **** **** 1234`: the first 4 and last 4 digits, grouped by 4."""
    middle = len(value) - 8
    groups = [value[:4]] + ["****"] * max(1, (middle + 3) // 4) + [value[-4:]]
    return " ".join(groups)


def mask_name(value: str) -> str:
    return value[0] + "*" * (len(value) - 1) if len(value) > 1 else "*"


def mask_email(value: str) -> str:
    local, _, domain = value.partition("@")
    return (local[:1] + "***@" + domain) if domain else "***"


def mask_address(value: str) -> str:
    """Keep the first 6 characters (province/city), hide the rest."""
    return value[:6] + "***"


MASKERS: dict[str, Callable[[str], str]] = {
    "CN_RESIDENT_ID": lambda v: _keep_ends(v, 6, 4),
    "CN_MOBILE": lambda v: _keep_ends(v, 3, 4),
    "CN_LANDLINE": lambda v: _keep_ends(v, 4, 2),
    "CN_BANK_CARD": mask_card,
    "CN_PASSPORT": lambda v: _keep_ends(v, 1, 2),
    "CN_HK_MACAU_PERMIT": lambda v: _keep_ends(v, 1, 2),
    "CN_USCC": lambda v: _keep_ends(v, 4, 2),
    "CN_LICENSE_PLATE": lambda v: _keep_ends(v, 2, 1),
    "EMAIL_ADDRESS": mask_email,
    "CN_NAME": mask_name,
    "CN_ADDRESS": mask_address,
}


def mask(entity_type: str, normalised: str) -> str:
    """The masked form shown to people (`110101********123X`, `138****5678`, `6222 **** **** 1234`)."""
    masker = MASKERS.get(entity_type)
    return masker(normalised) if masker else _keep_ends(normalised, 1, 1)
