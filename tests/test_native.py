"""The direct calls into Hyperscan and OpenSSL (dlpscan/detect/_native.pyx) against the paths they
replace: the `hyperscan` binding with a Python callback per match, and hmac/hashlib."""

from __future__ import annotations

import hmac
import random
import re

import pytest
from test_differential import mixed_text
from test_presidio import generated_text

from dlpscan.aggregate import Fingerprinter
from dlpscan.detect import backends, hs_cache
from dlpscan.detect.backends import HyperscanScanner, _all_candidates, _apart, start_reach
from dlpscan.detect.engine import Engine
from dlpscan.detect.registry import load_definitions

native = pytest.importorskip("dlpscan.detect._native", reason="not built (no libhyperscan-dev/libssl-dev)")


def listed(*candidates) -> tuple:
    """Candidates as lists: the compiled paths give typed arrays ('q'), the Python paths lists."""
    return tuple(listed(*c) if isinstance(c, tuple) else list(c) for c in candidates)


@pytest.fixture(scope="module")
def scanners(tmp_path_factory) -> tuple[HyperscanScanner, HyperscanScanner]:
    pytest.importorskip("hyperscan")
    regexes = [p.scan_regex for _, _, p in Engine(load_definitions(), "re", compiled=False)._entries]
    return HyperscanScanner(regexes, native=False), HyperscanScanner(regexes, native=True)


EDGES = [
    "",
    "13912345678",
    "\U0001f600手机13912345678",
    "电话+86 139 1234 5678，0086-139-1234-5678；(+86)13912345678",
    "卡号6222 0212 3456 7890 123 身份证110101 19900307 8670 和 110101********4969",
    "a13912345678 139123456789 x110101199003078670y 91350100M000100Y43",
]


@pytest.mark.parametrize("database", ["chosen", "guarded", "open"])
@pytest.mark.parametrize("seed", range(3))
def test_native_candidates_equal_the_bindings_and_hold_every_start(scanners, seed, database, monkeypatch):
    """The C API's candidates equal the binding's, collected in C (HitCollector) and by the Python
    callback. For a pattern whose starts are recovered from its ends (StartReach, no SOM), every
    position where it matches is among them: from the database chosen for the text, and from each
    of the two forced."""
    if database != "chosen":
        monkeypatch.setattr(backends, "few_alnum", lambda data: database == "open")
    binding, direct = scanners
    regexes = [p.scan_regex for _, _, p in Engine(load_definitions(), "re", compiled=False)._entries]
    reaches = [start_reach(r) for r in regexes]
    assert sum(r is not None for r in reaches) >= 10
    for text in [mixed_text(seed, 800), generated_text(seed, 30_000), *EDGES]:
        starts, ids = listed(*direct.candidates(text))
        pairs = list(zip(starts, ids, strict=True))
        assert pairs == sorted(set(pairs))
        assert listed(*binding.candidates(text)) == (starts, ids)
        assert _all_candidates(binding.cursor(text)) == (starts, ids)
        for i, reach in enumerate(reaches):
            if reach is not None:
                pattern = re.compile(regexes[i], re.ASCII)  # Hyperscan's \d is ASCII (texts are folded)
                got = {start for start, pid in pairs if pid == i}
                assert {s for s in range(len(text)) if pattern.match(text, s)} <= got, regexes[i]
    assert len(direct.candidates(mixed_text(0, 800))[0]) > 1000


def test_the_open_database_scans_blocks_with_few_ascii_letters_and_digits():
    """Chinese prose with a record here and there takes the open database; exports, English text
    and code take the guarded one (the faster on each, bench/README.md)."""
    prose = "客户服务中心今天发布了新的通知，请各位同事注意查收。" * 40
    assert backends.few_alnum((prose + "张三 13912345678 地址：北京市").encode())
    assert not backends.few_alnum("\n".join(["张三,110101199003078670,13912345678"] * 50).encode())
    assert not backends.few_alnum(b"The quick brown fox jumps over the lazy dog. " * 40)
    assert not backends.few_alnum(b"")
    scanner = HyperscanScanner([r"(?<![0-9])1[3-9]\d{9}(?![0-9])"], native=True)
    guarded, open_db = scanner._databases
    assert guarded is not open_db
    assert scanner._for(prose.encode()) is open_db
    unguarded = HyperscanScanner([r"身份证"], native=True)._databases  # nothing to open: one database
    assert unguarded[0] is unguarded[1]


def test_candidate_starts_are_characters_after_any_mix_of_utf8_widths():
    """Byte starts become character starts eight bytes at a time: prefixes of 1- to 4-byte characters
    of every length and alignment put the candidate at the prefix's length in characters."""
    scanner = HyperscanScanner([r"(?<![0-9])1[3-9]\d{9}(?![0-9])"], native=True)
    rng = random.Random(4)
    for _ in range(300):
        prefix = "".join(rng.choice("a é汉\U0001f600") for _ in range(rng.randint(0, 40)))
        text = f"{prefix}13912345678{prefix}"
        assert listed(*scanner.candidates(text)) == ([len(prefix)], [0]), prefix


def test_candidates_apart_split_the_same_pass_at_a_pattern_index(scanners):
    """Another reader's patterns scanned in the same pass (the categoriser's evidence) come back
    apart, counted from their first index, and the rest exactly as a scan without them gives."""
    pytest.importorskip("hyperscan")
    binding, direct = scanners
    regexes = [p.scan_regex for _, _, p in Engine(load_definitions(), "re", compiled=False)._entries]
    extra = ["入住时间", "房间号", r"诊[ ]?断[ ]?[:：]", r"(?i:icd-?10)[^\n]{0,12}?[A-TV-Z]\d{2}"]
    shared = HyperscanScanner(regexes + extra, native=True), HyperscanScanner(regexes + extra, native=False)
    for text in [mixed_text(1, 800), "入住时间:2024-03-01 房间号:1203 诊断: ICD-10 K50 13912345678", *EDGES]:
        (starts, ids), (more_starts, more_ids) = listed(*shared[0].candidates_apart(text, len(regexes)))
        assert (starts, ids) == listed(*direct.candidates(text)) == listed(*binding.candidates(text))
        assert listed(*shared[1].candidates_apart(text, len(regexes))) == (
            (starts, ids),
            (more_starts, more_ids),
        )
        alone = listed(*HyperscanScanner(extra, native=True).candidates(text))
        assert (more_starts, more_ids) == alone
        everything = listed(*shared[0].candidates(text))
        assert _apart(*everything, len(regexes)) == (starts, ids, more_starts, more_ids)  # the Python split
        assert listed(*shared[0].candidates_apart(text, len(regexes) + len(extra))) == (everything, ([], []))
    assert listed(*shared[0].candidates_apart("入住时间:2024 房间号:1203", len(regexes))[1]) == (
        [0, 10],
        [0, 1],
    )
    with pytest.raises(ValueError):
        shared[0].candidates_apart("x", -1)


def test_start_reach_of_a_pattern():
    reach = start_reach(r"(?<![0-9A-Za-z+])(?:\+86)?1[3-9]\d{9}(?![0-9])")
    assert reach is not None and (reach.shortest, reach.longest) == (11, 14)
    assert (
        reach.first[ord("1") >> 3] >> (ord("1") & 7) & 1 and reach.first[ord("+") >> 3] >> (ord("+") & 7) & 1
    )
    assert not reach.first[ord("2") >> 3] >> (ord("2") & 7) & 1
    assert start_reach(r"1[3-9]\d{9}") is None  # no guard: SOM
    assert start_reach(r"(?<![0-9])\d+") is None  # unbounded
    assert start_reach(r"(?<![0-9])\d{65}") is None  # longer than MAX_REACH
    assert start_reach(r"(?<![\w])\d{11}") is None  # the guard is not ASCII only
    assert start_reach(r"(?<![0-9])京[A-Z]\d{5}") is None  # opens with a non-ASCII character


def test_native_database_is_cached_and_a_damaged_entry_recompiled(tmp_path, monkeypatch):
    monkeypatch.setenv(hs_cache.CACHE_ENV, str(tmp_path))
    regexes = [r"(?<![0-9])1[3-9]\d{9}(?![0-9])", r"身份证"]
    first = HyperscanScanner(regexes, native=True)
    entries = sorted(tmp_path.glob("hs-*.db"))  # the guarded and the open database
    assert len(entries) == 2
    stored = [entry.read_bytes() for entry in entries]
    assert HyperscanScanner(regexes, native=True).candidates("身份证 13912345678") == (
        first.candidates("身份证 13912345678")
    )
    assert listed(*first.candidates("身份证 13912345678")) == ([0, 4], [1, 0])
    for entry in entries:
        entry.write_bytes(b"not a database")
    assert listed(*HyperscanScanner(regexes, native=True).candidates("a 13912345678")) == ([2], [0])
    assert listed(*HyperscanScanner(regexes, native=True).candidates("号码13912345678")) == ([2], [0])
    assert [entry.read_bytes() for entry in entries] == stored


def test_a_pattern_hyperscan_refuses_is_named_by_index():
    with pytest.raises(ValueError, match="pattern 1"):
        native.Database.compile([b"abc", b"(?<=x)y"], [32, 32])


def test_native_fingerprints_encode_every_utf8_width_as_str_encode():
    """Short non-ASCII values are encoded to UTF-8 on the stack, longer ones by str.encode: both give
    hmac's digest, at every character width and around the stack buffer's length, and a lone
    surrogate raises as str.encode does."""
    key = b"k"
    rng = random.Random(8)
    alphabet = "aé·张\u00ff\u0800\uffff\U0001f600\U0010ffff"
    values = ["é", "ÿ" * 300, "\U0001f600" * 255, "\U0001f600" * 256, "\U0001f600" * 257, "张" * 1000]
    values += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300))) for _ in range(2000)]
    fingerprints = native.Fingerprints(key)
    expected = b"".join(hmac.digest(key, v.encode("utf-8"), "sha256") for v in values)
    assert fingerprints.truncated(b"", values, 32) == expected
    tally = Fingerprinter(key).distinct_values()
    tally.add(values, bytes(len(values)))
    assert tally.digests() == b"".join(
        sorted(hmac.digest(key, v.encode("utf-8"), "sha256") for v in set(values))
    )
    for lone in ("\ud800", "张\udfff"):
        with pytest.raises(UnicodeEncodeError):
            fingerprints.truncated(b"", [lone], 32)


@pytest.mark.parametrize("key", [b"k", b"", b"x" * 64, b"long key " * 20])
def test_native_distinct_values_equal_hmac_sha256_sets(key):
    rng = random.Random(1)
    values = ["13912345678", "张三", "", "110101199003078670", "凯文·杜兰特", "x" * 300, "\U0001f600"]
    values += [str(rng.randrange(10**10, 10**18)) for _ in range(500)]
    values += rng.choices(values, k=300_000)  # repeats: buffers of digests sorted and de-duplicated
    flags = bytes(rng.choice((0, 1, 2, 3)) for _ in values)
    digest = {v: hmac.digest(key, v.encode("utf-8"), "sha256") for v in values}
    expected = (
        sorted(set(digest.values())),
        len({v for v, f in zip(values, flags, strict=True) if f & 1}),
        len({v for v, f in zip(values, flags, strict=True) if f & 2}),
    )
    hashlib_only = Fingerprinter(key)
    hashlib_only._native = None  # the fallback where _native is not built
    for fingerprinter in (Fingerprinter(key), hashlib_only):
        tally = fingerprinter.distinct_values()
        for at in range(0, len(values), 7000):  # in blocks, as a document's findings come
            tally.add(values[at : at + 7000], flags[at : at + 7000])
        assert tally.digests() == b"".join(expected[0])
        assert tally.counts() == (len(expected[0]), *expected[1:])
        tally.add(values[:3], b"\0\0\0")  # counted once, after the digests were read
        assert tally.counts()[0] == len(expected[0])
    empty = Fingerprinter(key).distinct_values()
    assert (empty.digests(), empty.counts()) == (b"", (0, 0, 0))
    with pytest.raises(ValueError):
        empty.add(["a", "b"], b"\0")


def test_digests_sort_as_bytes_compare_even_when_their_first_eight_bytes_are_equal():
    rng = random.Random(3)
    digests = [rng.randbytes(32) for _ in range(3000)]
    digests += [b"\x07" * 8 + rng.randbytes(24) for _ in range(40)]  # one radix key, ordered by memcmp
    digests += [digests[5], b"\xff" * 32, b"\x00" * 32]
    assert native.sort_digests(b"".join(digests)) == b"".join(sorted(digests))
    assert native.sort_digests(b"") == b""
    flags = bytes(rng.randrange(256) for _ in digests)  # a flag byte travels with its digest
    out, moved = native.sort_digests(b"".join(digests), flags)
    assert out == b"".join(sorted(digests))
    out_digests = [out[i : i + 32] for i in range(0, len(out), 32)]
    assert sorted(zip(out_digests, moved, strict=True)) == sorted(zip(digests, flags, strict=True))
    with pytest.raises(ValueError):
        native.sort_digests(b"x" * 33)


@pytest.fixture(params=[False, True], ids=["openssl", "pairs"])
def hmac_pairs(request):
    """DistinctValues hashing every value through OpenSSL, and short values two at a time with the
    x86 SHA extensions (skipped where the CPU lacks them)."""
    before = native.hmac_pairs()
    if native.hmac_pairs(request.param) != request.param:
        pytest.skip("this CPU has no SHA extensions: OpenSSL hashes every value")
    yield request.param
    native.hmac_pairs(before)


@pytest.mark.parametrize("key", [b"k", b"x" * 64, b"long key " * 20])
def test_distinct_values_hashed_in_pairs_equal_hmac(hmac_pairs, key):
    """Every UTF-8 length around the one-block limit (55 bytes), of one- to four-byte characters, short
    and long values interleaved, odd and even counts (the last short value hashed beside itself), and
    each value's flags kept with its own digest."""
    rng = random.Random(12)
    values = (
        ["a" * n for n in range(70)] + ["张" * n for n in range(25)] + ["\U0001f600" * n for n in range(16)]
    )
    values += ["".join(rng.choice("a7é张\U0001f600") for _ in range(rng.randint(0, 30))) for _ in range(3000)]
    for count in (1, 2, 3, len(values)):
        chosen = values[-count:]
        flags = bytes(rng.choice((0, 1, 2)) for _ in chosen)
        tally = Fingerprinter(key).distinct_values()
        tally.add(chosen, flags)
        digests = {v: hmac.digest(key, v.encode("utf-8"), "sha256") for v in chosen}
        assert tally.digests() == b"".join(sorted(set(digests.values())))
        confirmed = {digests[v] for v, f in zip(chosen, flags, strict=True) if f & 1}
        marked = {digests[v] for v, f in zip(chosen, flags, strict=True) if f & 2}
        assert tally.counts() == (len(set(digests.values())), len(confirmed), len(marked))
    with pytest.raises(UnicodeEncodeError):  # a lone surrogate raises, as str.encode does
        Fingerprinter(key).distinct_values().add(["ok", "\ud800"], b"\0\0")


def test_starts_recovered_from_ends_after_any_mix_of_utf8_widths(scanners):
    """The compiled start recovery steps over the nearest `shortest` characters at once where they
    are one byte each: around digit runs of every length after 1- to 4-byte characters, separators
    and guards, its candidates equal the Python reference's (backends.reach_starts)."""
    pytest.importorskip("hyperscan")
    binding, direct = scanners
    rng = random.Random(12)
    pieces = ["1", "3", "8", "0", "X", " ", "-", "+", "(", "é", "汉", "\U0001f600", "\x1f", "\n", "a", "*"]
    for _ in range(400):
        text = "".join(
            rng.choice(pieces) if rng.random() < 0.3 else str(rng.randint(0, 10 ** rng.randint(1, 24)))
            for _ in range(rng.randint(1, 12))
        )
        assert _all_candidates(binding.cursor(text)) == listed(*direct.candidates(text)), text
