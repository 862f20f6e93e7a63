"""Checks on normalised candidate values. Each returns a confidence in [0, 1]; 0 rejects.

Pure functions over the shipped reference tables; exhaustively tested in tests/.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable
from functools import cache, lru_cache, partial

from dlpscan import plugins
from dlpscan.detect import tables

PROVINCES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46"
    " 50 51 52 53 54 61 62 63 64 65 81 82 83".split()
)
# Published sample numbers (standards, library READMEs): test data, not people.
SAMPLE_IDS = frozenset(
    {"11010519491231002X", "440308199901101512", "810000199408230021", "830000199201300022"}
)
PLACEHOLDER_MOBILES = frozenset({"13800138000", "13812345678", "13888888888", "18888888888", "13000000000"})


def id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2. The weights are 2^(18-i) mod 11, so the weighted sum is the digits read
    as a base-13 number (13 = 2 mod 11): one C-level int() instead of 17 multiplications."""
    check = (1 - 2 * int(first17, 13)) % 11
    return "X" if check == 10 else str(check)


_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_today_cache: list = [0.0, ""]  # [refreshed at (time.time()), today as YYYYMMDD]


def _today() -> str:
    """Today as YYYYMMDD, refreshed every minute (date.today() per candidate is slow)."""
    now = time.time()
    if now - _today_cache[0] > 60:
        _today_cache[:] = [now, dt.date.today().strftime("%Y%m%d")]
    return _today_cache[1]


def _plausible_birth(yyyymmdd: str, today: dt.date | None = None) -> bool:
    """A real calendar date from 1900-01-01 up to today."""
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])
    if not (1 <= month <= 12 and 1 <= day <= _DAYS[month]):
        return False
    if month == 2 and day == 29 and not (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)):
        return False
    return "19000101" <= yyyymmdd <= (today.strftime("%Y%m%d") if today else _today())


def _region_confidence(code: str, birth_year: int) -> float:
    """Known code -> 1; unknown code in a valid province -> 0.7; abolished before birth -> 0.2."""
    if code[:2] not in PROVINCES:
        return 0.0
    division = tables.divisions().get(code)
    if division is None:
        return 0.7
    if division.last_year is not None and birth_year > division.last_year + 1:
        return 0.2
    return 1.0


def cn_resident_id(value: str) -> float:
    """GB 11643: 18 characters with MOD 11-2 check, or the legacy 15-digit form (no check digit)."""
    if len(value) == 18:
        if not value[:17].isdigit() or id_check_char(value[:17]) != value[17]:
            return 0.0
        birth = value[6:14]
    elif len(value) == 15 and value.isdigit():
        birth = "19" + value[6:12]
    else:
        return 0.0
    if not _plausible_birth(birth):
        return 0.0
    confidence = _region_confidence(value[:6], int(birth[:4]))
    if value in SAMPLE_IDS:
        confidence = min(confidence, 0.3)
    return confidence


def cn_resident_id_damaged(value: str) -> bool:
    """An 18-digit ID that Excel stored as a float: last 3 digits 000, check fails, region/date plausible."""
    return (
        len(value) == 18
        and value.isdigit()
        and value.endswith("000")
        and id_check_char(value[:17]) != value[17]
        and value[:2] in PROVINCES
        and _plausible_birth(value[6:14])
    )


def minor_age(value: str, today: dt.date | None = None) -> bool:
    """True when the ID's birth date makes the holder younger than 14 (PIPL Art. 31)."""
    birth = value[6:14] if len(value) == 18 else "19" + value[6:12]
    try:
        born = dt.date(int(birth[:4]), int(birth[4:6]), int(birth[6:8]))
    except ValueError:
        return False
    today = today or dt.date.today()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age < 14


def luhn(value: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(value)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_bin(value: str) -> tables.Bin | None:
    bins = tables.bank_bins()
    for n in tables.bin_lengths():
        hit = bins.get(value[:n])
        if hit is not None:
            return hit
    return None


def cn_bank_card(value: str) -> float:
    """16-19 digits, Luhn, a Chinese issuer BIN; full confidence when the length fits the BIN."""
    if not (16 <= len(value) <= 19 and value.isdigit()) or not luhn(value):
        return 0.0
    if len(set(value)) <= 2:
        return 0.0
    return card_issuer_confidence(value)


def card_issuer_confidence(value: str) -> float:
    """The BIN part of cn_bank_card, for a value that passed its shape and Luhn checks."""
    issuer = card_bin(value)
    if issuer is None:
        return 0.3
    if issuer.lengths and len(value) not in issuer.lengths:
        return 0.3  # a length the issuer does not use: as doubtful as an unknown BIN
    return 1.0


@cache
def _prefix_lengths() -> tuple[int, ...]:
    return tuple(sorted({len(p) for p in tables.mobile_prefixes()}, reverse=True))


def cn_mobile(value: str) -> float:
    """11 digits on an assigned personal segment; placeholders and repeated digits score low."""
    if len(value) != 11 or not value.isdigit():
        return 0.0
    return mobile_segment_confidence(value)


def mobile_segment_confidence(value: str) -> float:
    """The segment part of cn_mobile, for 11 digits."""
    prefixes = tables.mobile_prefixes()
    for n in _prefix_lengths():
        length = prefixes.get(value[:n])
        if length is not None:
            if length != 11:
                return 0.0
            break
    else:
        return 0.0
    if value in PLACEHOLDER_MOBILES or len(set(value[3:])) == 1:
        return 0.4
    return 1.0


def cn_landline(value: str) -> float:
    """Area code from the table plus a 7-8 digit local number that does not start with 0 or 1."""
    if not value.isdigit() or not value.startswith("0"):
        return 0.0
    for n in (3, 4):
        code, local = value[:n], value[n:]
        if code in tables.area_codes() and len(local) in (7, 8) and local[0] not in "01":
            if n == 3 and len(local) != 8:
                return 0.5  # 2-digit-area cities have 8-digit local numbers
            return 1.0
    return 0.0


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


# Registering authority (1st character) -> entity categories (2nd) that GB 32100 and its amendments use.
_USCC_CATEGORIES = {
    "1": "1239",
    "2": "19",
    "3": "123459",
    "4": "19",
    "5": "1239",
    "6": "129",
    "7": "129",
    "8": "19",
    "9": "123",
    "A": "19",
    "N": "12349",
    "Y": "1",
}


def cn_uscc(value: str) -> float:
    """GB 32100: authority + category, a division code, check character mod 31 (A/N/Y codes valid).

    Eighteen digits that happen to pass the check are far more often a trace id or an ID number
    damaged by a spreadsheet than an organisation code: those need a label or header (0.3)."""
    if len(value) != 18 or any(c not in _USCC_ALPHABET for c in value):
        return 0.0
    if value[1] not in _USCC_CATEGORIES.get(value[0], "") or value[2:4] not in PROVINCES | {"10"}:
        return 0.0
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(value[:17], _USCC_WEIGHTS, strict=True))
    expected = _USCC_ALPHABET[(31 - total % 31) % 31]
    if value[17] != expected:
        return 0.0
    return 0.3 if value.isdigit() else 1.0


def cn_passport(value: str) -> float:
    return 1.0 if len(set(value[1:])) > 1 else 0.0


def cn_hk_macau_permit(value: str) -> float:
    return 1.0 if len(set(value[1:])) > 1 else 0.0


def cn_license_plate(value: str) -> float:
    return 1.0


@cache
def _tld_extractor():
    import tldextract

    # Offline: the bundled Public Suffix List snapshot only, never a download.
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


_ORG_SUFFIXES = (
    "银行",
    "公司",
    "集团",
    "中心",
    "大学",
    "学院",
    "学校",
    "医院",
    "酒店",
    "超市",
    "商行",
    "商店",
    "门店",
    "支行",
    "分行",
)
_FILE_EXTENSIONS = frozenset("png jpg jpeg gif svg webp bmp ico js css map json xml html txt pdf".split())


@lru_cache(maxsize=8192)
def _has_public_suffix(domain: str) -> bool:
    """Cached: a suffix lookup costs about 1 ms and the same few domains recur in every file."""
    return bool(_tld_extractor()(domain).suffix)


def email_address(value: str) -> float:
    domain = value.rsplit("@", 1)[-1]
    if domain.rsplit(".", 1)[-1] in _FILE_EXTENSIONS:
        return 0.0
    return 1.0 if _has_public_suffix(domain) else 0.0


# CJK Unified Ideographs plus Extension A: rare name characters such as 䶮 (U+4DAE) live there.
HAN_CLASS = "\u3400-\u4dbf\u4e00-\u9fff"
_HAN_NAME = re.compile(f"[{HAN_CLASS}]{{2,4}}|[{HAN_CLASS}]{{1,8}}(?:·[{HAN_CLASS}]{{1,8}})+")


_HONORIFICS = ("先生", "女士", "小姐")


def cn_name(value: str, labels: frozenset[str] = frozenset()) -> float:
    """2-4 Han characters (or Han groups joined by '·') starting with a known surname.

    `labels` are the label and header words of the loaded definitions (身份证, 车牌 ...): a label, or
    a label plus more (车牌号), is not a name. The engine binds them (see `bind`).
    """
    if not _HAN_NAME.fullmatch(value) or value in labels or value.endswith(_ORG_SUFFIXES):
        return 0.0
    if value in tables.name_stopwords() or value.endswith(_HONORIFICS):  # 张先生 is not a full name
        return 0.0
    if any(value[:n] in labels for n in range(2, len(value))):  # a label plus more: 车牌号, 项目经理
        return 0.0
    if "·" in value:
        return 0.8
    single, compound = tables.surnames()
    if value[:2] in compound and len(value) >= 3:
        return 1.0
    if value[0] in single:
        return 1.0
    return 0.0


_ADDRESS_ADMIN = re.compile(r"省|自治区|市|区|县|旗|州|盟|镇|乡|街道")
# One digit before the unit word, not \d+: only whether it occurs matters, and \d+ backtracks
# through every suffix of a long digit run (quadratic in a hostile cell).
_ADDRESS_UNIT = re.compile(r"\d(?:号|栋|幢|座|室|弄|组|层|楼|户|单元)|[路街巷道弄村]")


def cn_address(value: str) -> float:
    """An administrative unit plus a street, number or building component; at least 6 characters."""
    if len(value) < 6 or "*" in value:
        return 0.0
    return 1.0 if _ADDRESS_ADMIN.search(value) and _ADDRESS_UNIT.search(value) else 0.0


DAMAGE_CHECKS: dict[str, Callable[[str], bool]] = {"cn_resident_id": cn_resident_id_damaged}


def _always_valid(value: str) -> float:
    return 1.0


# Validators that also read the label words of the loaded definitions (passed in, never loaded here).
_WITH_LABELS = frozenset({"cn_name"})


def bind(name: str | None, labels: frozenset[str]) -> Callable[[str], float]:
    """The validator `name` as a one-argument function, given the loaded definitions' label words."""
    if name is None:
        return _always_valid
    if name in _WITH_LABELS:
        return partial(VALIDATORS[name], labels=labels)
    return known_validators()[name]


def known_validators() -> dict[str, Callable[..., float]]:
    """The built-in validators plus those installed packages add (entry points `dlpscan.validators`)."""
    return plugins.with_plugins(plugins.VALIDATORS, VALIDATORS)


VALIDATORS: dict[str, Callable[..., float]] = {
    "cn_address": cn_address,
    "cn_resident_id": cn_resident_id,
    "cn_bank_card": cn_bank_card,
    "cn_mobile": cn_mobile,
    "cn_landline": cn_landline,
    "cn_uscc": cn_uscc,
    "cn_passport": cn_passport,
    "cn_hk_macau_permit": cn_hk_macau_permit,
    "cn_license_plate": cn_license_plate,
    "email_address": email_address,
    "cn_name": cn_name,
}
