"""Validators, normalisers and folding: exact values, edge cases, and round properties."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlpscan.detect import validators as v
from dlpscan.detect.registry import label_words, load_definitions
from dlpscan.detect.text import digits, fold, landline, mobile, plate, upper_alnum

# -- GB 11643 MOD 11-2 -------------------------------------------------------------------


def weights() -> list[int]:
    """Independent of the module: w_i = 2^(18-i) mod 11."""
    return [pow(2, 18 - i, 11) for i in range(1, 18)]


def body_with_remainder(r: int) -> str:
    """A 17-digit body (Beijing, 1990-03-07) whose weighted sum mod 11 is r."""
    for seq in range(1000):
        body = f"11010119900307{seq:03d}"
        if sum(int(c) * w for c, w in zip(body, weights(), strict=True)) % 11 == r:
            return body
    raise AssertionError(r)


def test_weights_are_the_standard_ones():
    assert tuple(weights()) == (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def test_base_13_check_matches_the_weighted_sum_on_random_bodies():
    rng = random.Random(7)
    for _ in range(5000):
        body = "".join(rng.choice("0123456789") for _ in range(17))
        remainder = sum(int(c) * w for c, w in zip(body, weights(), strict=True)) % 11
        assert v.id_check_char(body) == "10X98765432"[remainder]


@pytest.mark.parametrize("remainder", range(11))
def test_check_character_for_every_remainder(remainder):
    body = body_with_remainder(remainder)
    expected = "X" if (12 - remainder) % 11 == 10 else str((12 - remainder) % 11)
    assert v.id_check_char(body) == expected == "10X98765432"[remainder]
    assert v.cn_resident_id(body + expected) == 1.0
    wrong = [c for c in "0123456789X" if c != expected]
    assert [v.cn_resident_id(body + c) for c in wrong] == [0.0] * 10


def test_standard_sample_and_published_vectors():
    assert v.id_check_char("11010519491231002") == "X"
    assert v.cn_resident_id("11010519491231002X") == 0.3  # the standard's own example: a sample
    assert v.cn_resident_id("440308199901101512") == 0.3  # id-validator README sample
    assert v.cn_resident_id("810000199408230021") == 0.3  # HK residence-permit sample
    assert v.cn_resident_id("81000019980902013X") == 1.0  # residence permits use 81/82/83
    assert v.cn_resident_id("110101199003078670") == 1.0


@pytest.mark.parametrize(
    ("body", "confidence"),
    [
        ("11010119000101001", 1.0),  # 1900-01-01, the first accepted date
        ("11010118991231001", 0.0),  # 1899
        ("11010120000229001", 1.0),  # leap day 2000
        ("11010119000229001", 0.0),  # 1900 was not a leap year
        ("11010119900230001", 0.0),  # 30 February
        ("11010119901301001", 0.0),  # month 13
        ("11010119900001001", 0.0),  # day 0
        ("71010119900307001", 0.0),  # 71 Taiwan: not issued on mainland IDs
        ("17010219840406970", 0.0),  # province 17 does not exist
        ("93268219850101001", 0.0),  # foreign permanent-resident ID
        ("11990119900307001", 0.7),  # unknown county in a valid province
    ],
)
def test_resident_id_edges(body, confidence):
    """Each body gets its correct check character: only date and region decide."""
    assert v.cn_resident_id(with_check(body)) == confidence


@pytest.mark.parametrize("value", ["11010119900307867x", "1101011990030786", "11010119900307867A", ""])
def test_resident_id_shapes(value):
    assert v.cn_resident_id(value) == 0.0  # validators expect normalised (upper-case) values


def with_check(body: str) -> str:
    return body + v.id_check_char(body)


def test_code_created_after_the_birth_year_is_accepted():
    # 110112 通州区 exists since 1997; 500103 (Chongqing) since 1997: people born earlier hold them.
    assert v.cn_resident_id(with_check("11011219600101001")) == 1.0
    assert v.cn_resident_id(with_check("50010319600101001")) == 1.0


def test_code_abolished_before_birth_is_down_weighted():
    # 110103 崇文区: last in force 2010
    assert v.cn_resident_id(with_check("11010320100101001")) == 1.0
    assert v.cn_resident_id(with_check("11010320110101001")) == 1.0  # the year after: data granularity
    assert v.cn_resident_id(with_check("11010320120101001")) == 0.2
    assert v.cn_resident_id(with_check("11010320150101001")) == 0.2


def test_future_birth_date_is_rejected():
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    assert v.cn_resident_id(with_check(f"110101{tomorrow:%Y%m%d}001")) == 0.0


@pytest.mark.parametrize(
    ("value", "confidence"),
    [
        ("610104620927690", 1.0),  # legacy 15-digit: 1962-09-27
        ("111111111111111", 0.7),  # unknown county in province 11, 1911-11-11
        ("610104620932690", 0.0),  # 32 September
        ("71010462092769A", 0.0),
    ],
)
def test_legacy_fifteen_digit_ids(value, confidence):
    assert v.cn_resident_id(value) == confidence


@pytest.mark.parametrize(
    ("value", "damaged"),
    [
        ("110105194912310000", True),  # the Excel float of 11010519491231002X
        ("110101199003078000", True),
        ("110101199003078670", False),  # valid check character: not damaged
        ("110105194912310100", False),  # does not end in 000
        ("990105194912310000", False),  # no such province
        ("110105194913310000", False),  # month 13
    ],
)
def test_excel_damaged_ids(value, damaged):
    assert v.cn_resident_id_damaged(value) is damaged


def test_minor_age():
    today = dt.date(2026, 6, 15)
    assert v.minor_age(with_check("11010120120616001"), today) is True  # 13 the day before the birthday
    assert v.minor_age(with_check("11010120120615001"), today) is False  # 14 today
    assert v.minor_age("110101620927690", today) is False


# -- Luhn and bank cards -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("79927398713", True),
        ("79927398710", False),
        ("49927398716", True),
        ("4992739871", False),
        ("1428572", True),
        ("6228480402564890018", True),
        ("6228480402564890", False),
        ("0", True),
        ("18", True),
        ("3984382462386423786482364872364827347", True),
    ],
)
def test_luhn(value, valid):
    assert v.luhn(value) is valid


@pytest.mark.parametrize(
    ("value", "confidence"),
    [
        ("6228480402564890018", 1.0),  # ABC, 19 digits, the length bcbc records
        ("6212345678901265", 1.0),
        ("6212345678900000003", 0.3),  # known BIN, a length its issuer does not use
        ("6213791234567890125", 1.0),  # ICBC BIN that only bankcardinfo lists, 19 digits
        ("621379123456789011", 0.3),  # the same BIN at 18 digits, a length ICBC does not issue
        ("2023101012345678901", 0.3),  # Luhn-valid order number: no BIN
        ("6228480402564890", 0.0),  # Luhn fails
        ("621234567890003", 0.0),  # 15 digits
        ("62123456789000000005", 0.0),  # 20 digits
        ("4111111111111111", 0.0),  # two distinct digits: placeholder
        ("622848040256489001X", 0.0),
    ],
)
def test_bank_card(value, confidence):
    assert v.cn_bank_card(value) == confidence


def test_longest_bin_wins():
    # 621260001 (9-digit BIN) is more specific than 621260
    assert v.card_bin("6212600011234567890") != v.card_bin("6212609991234567890")


# -- USCC (GB 32100, mod 31) -------------------------------------------------------------

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check(body: str) -> str:
    """Independent of the module: weights 3^(i-1) mod 31."""
    total = sum(ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(body))
    return ALPHABET[(31 - total % 31) % 31]


def test_uscc_weights():
    assert tuple(pow(3, i, 31) for i in range(17)) == (
        1,
        3,
        9,
        27,
        19,
        26,
        16,
        17,
        20,
        29,
        25,
        13,
        8,
        24,
        10,
        30,
        28,
    )


def test_uscc_reference_vector():
    assert uscc_check("91110000600037341") == "L"
    assert v.cn_uscc("91110000600037341L") == 1.0
    assert v.cn_uscc("91110000600037341N") == 0.0


@pytest.mark.parametrize("first", list("123456789ANY"))
def test_uscc_every_registering_authority(first):
    body = f"{first}1110000MA00AB12C"
    assert v.cn_uscc(body + uscc_check(body)) == 1.0


def test_uscc_every_check_character_is_reachable_and_exclusive():
    seen = set()
    for n in range(2000):
        body = f"9111000060{n:04d}34A"[:17]
        right = uscc_check(body)
        seen.add(right)
        assert [c for c in ALPHABET if v.cn_uscc(body + c) > 0] == [right]
        if len(seen) == 31:
            break
    assert len(seen) == 31


@pytest.mark.parametrize(
    "value", ["9111000060003IOZSV", "91110000600037341", "91110000600037341LL", "11010519491231002X"]
)
def test_uscc_rejects(value):
    assert v.cn_uscc(value) == 0.0


# -- phones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "confidence"),
    [
        ("13912345678", 1.0),
        ("17415345678", 0.0),  # 17413-17489: not assigned
        ("17400234567", 1.0),
        ("16101234567", 1.0),  # 1610x: libphonenumber's metadata accepts it (it wins over a table lacking it)
        ("16112345678", 0.0),  # the rest of 161 is in neither source
        ("14023456789", 0.0),  # unassigned
        ("14412345678", 0.0),  # IoT blocks are 13 digits: not a person's number
        ("13800138000", 0.4),  # placeholders
        ("18888888888", 0.4),
        ("13911111111", 0.4),  # repeated subscriber digits
        ("1391234567", 0.0),
        ("139123456789", 0.0),
    ],
)
def test_mobile(value, confidence):
    assert v.cn_mobile(value) == confidence


@pytest.mark.parametrize(
    ("value", "confidence"),
    [
        ("01065123456", 1.0),
        ("09782345678", 1.0),  # 0978: libphonenumber's metadata accepts it, the geocoding file lacks it
        ("075588888888", 1.0),
        ("07557654321", 1.0),  # 7-digit local number after a 4-digit area code
        ("0209999999", 0.5),  # 7 digits after a 3-digit area code: cities there have 8
        ("01012345678", 0.0),  # local numbers never start with 1
        ("01002345678", 0.0),
        ("02612345678", 0.0),  # 026 is not used
        ("4008608608", 0.0),
    ],
)
def test_landline(value, confidence):
    assert v.cn_landline(value) == confidence


# -- documents, e-mail, names, addresses -------------------------------------------------


def test_passport_and_permit_reject_repeated_digits():
    assert (v.cn_passport("E12345678"), v.cn_passport("E00000000")) == (1.0, 0.0)
    assert (v.cn_hk_macau_permit("C12345678"), v.cn_hk_macau_permit("H00000000")) == (1.0, 0.0)


@pytest.mark.parametrize(
    ("value", "confidence"),
    [
        ("wang@example.com", 1.0),
        ("li@mail.example.com.cn", 1.0),
        ("icon@2x.png", 0.0),
        ("a@b.css", 0.0),
        ("user@localhost", 0.0),
        ("user@example.notatld", 0.0),
    ],
)
def test_email(value, confidence):
    assert v.email_address(value) == confidence


@pytest.mark.parametrize(
    ("value", "confidence"),
    [
        ("张三", 1.0),
        ("欧阳娜娜", 1.0),
        ("司马相如", 1.0),
        ("刘欣䶮", 1.0),  # CJK Extension A
        ("凯文·杜兰特", 0.8),
        ("阿卜杜尼亚孜·毛力尼亚孜", 0.8),
        ("三张", 0.0),  # no surname first
        ("张", 0.0),
        ("张三丰李四", 0.0),  # five characters
        ("王府井", 0.0),  # stop word
        ("身份证", 0.0),  # a label word
        ("车牌号", 0.0),  # a label word with more after it
        ("张三2", 0.0),
    ],
)
def test_name(value, confidence):
    assert v.cn_name(value, labels=label_words(load_definitions())) == confidence


def test_name_label_words_are_passed_in_not_loaded():
    """The validator reads no definitions itself: the label words it rejects are the ones it is given
    (a user recognizer folder's labels included)."""
    assert v.cn_name("车牌号") == 1.0  # surname 车: only the label word 车牌 makes it not a name
    assert v.cn_name("车牌号", labels=frozenset({"车牌"})) == 0.0
    assert v.cn_name("王工号") == 1.0
    assert v.cn_name("王工号", labels=frozenset({"王工"})) == 0.0


@pytest.mark.parametrize(
    ("value", "confidence"),
    [
        ("北京市朝阳区建国路88号", 1.0),
        ("浙江省杭州市西湖区文三路100号", 1.0),
        ("吉林省吉林市小皇村", 1.0),
        ("北京市朝阳区", 0.0),  # regions only
        ("建国路88号", 0.0),  # no administrative unit
        ("北京市朝阳区***", 0.0),  # masked
        ("北京市区", 0.0),  # too short
    ],
)
def test_address(value, confidence):
    assert v.cn_address(value) == confidence


# -- folding and normalising --------------------------------------------------------------


def test_fold_maps_full_width_forms_and_mask_glyphs():
    src = "１２３ＡＢｃ＋－—–‐（）：\u3000\u00a0＊×●•※＃＠．＿·①"
    assert fold(src) == "123ABc+----():  *****#@._·①"  # · kept for plates, ① not turned into 1


@given(st.text())
def test_fold_keeps_every_offset(text):
    folded = fold(text)
    assert len(folded) == len(text)
    assert all(
        a == b or b in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz+-(): *#@._"
        for a, b in zip(text, folded, strict=True)
    )


@pytest.mark.parametrize(
    ("normalise", "raw", "value"),
    [
        (mobile, "+86 139-1234-5678", "13912345678"),
        (mobile, "0086 13912345678", "13912345678"),
        (mobile, "013912345678", "13912345678"),
        (landline, "+86 10 6512 3456", "01065123456"),
        (landline, "0086-755-88888888", "075588888888"),
        (landline, "(010)65123456转8001", "01065123456"),
        (landline, "0755-8888 8888 ext. 12", "075588888888"),
        (plate, "粤B·D12345", "粤BD12345"),
        (plate, "沪a-12345", "沪A12345"),
        (upper_alnum, "110101 19900307 867x", "11010119900307867X"),
        (digits, "6222 0212-3456", "622202123456"),
    ],
)
def test_normalisers(normalise, raw, value):
    assert normalise(raw) == value
