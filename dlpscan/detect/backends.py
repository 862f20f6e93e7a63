"""Candidate scanners: every pattern compiled once into one scanner, run over whole blocks.

A scanner only proposes start offsets where some pattern may match (a superset); the engine
confirms each with the exact Python pattern (lookarounds included) and validates it, so both
back ends return exactly the same findings.
"""

from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import astuple, dataclass
from re import _constants, _parser  # the stdlib's own pattern parser
from typing import Any, Protocol

from dlpscan.detect import compiled as compiled_modules
from dlpscan.detect.hs_cache import compiled_database

log = logging.getLogger(__name__)

# hs.h: HS_FLAG_UTF8, HS_FLAG_SOM_LEFTMOST (the same values in the binding and the C API)
HS_FLAG_UTF8 = 32
HS_FLAG_SOM_LEFTMOST = 256

_NAMED_GROUP = re.compile(r"\(\?P<[A-Za-z_][A-Za-z0-9_]*>")


class Cursor(Protocol):
    def next_start(self, pos: int) -> tuple[int, Sequence[int]] | None:
        """The first candidate start >= pos and the pattern indices that may match there."""


class Scanner(Protocol):
    name: str

    def cursor(self, text: str) -> Cursor: ...

    def candidates(self, text: str, data: bytes | None = None) -> tuple[Sequence[int], Sequence[int]]:
        """Every (start, pattern index) pair the cursor can return, as parallel sequences sorted by
        (start, index): the input of the compiled candidate loop. Lists, or where collected in C
        typed arrays ('q'), which that loop reads without a Python int per candidate. `data`: the
        UTF-8 of `text` (surrogates passed) where the caller made it already."""
        ...


@dataclass(frozen=True, slots=True)
class Candidates:
    """A scanner's candidates in `text`: parallel sequences of starts and pattern indices, sorted."""

    text: str
    starts: Sequence[int]
    ids: Sequence[int]


def _all_candidates(cursor: Cursor) -> tuple[list[int], list[int]]:
    starts: list[int] = []
    ids: list[int] = []
    pos = 0
    while (hit := cursor.next_start(pos)) is not None:
        start, pattern_ids = hit
        for pid in pattern_ids:
            starts.append(start)
            ids.append(pid)
        pos = start + 1
    return starts, ids


def _apart(starts: list[int], ids: list[int], first: int) -> tuple[list[int], ...]:
    """(starts, ids), or with `first` >= 0 (starts, ids, starts, ids - first) split at pattern `first`."""
    if first < 0:
        return starts, ids
    mine = [k for k, pid in enumerate(ids) if pid < first]
    theirs = [k for k, pid in enumerate(ids) if pid >= first]
    return (
        [starts[k] for k in mine],
        [ids[k] for k in mine],
        [starts[k] for k in theirs],
        [ids[k] - first for k in theirs],
    )


class _ReCursor:
    def __init__(self, scanner: ReScanner, text: str) -> None:
        self._s, self._text = scanner, text

    def next_start(self, pos: int) -> tuple[int, Sequence[int]] | None:
        trigger, combined, text = self._s.trigger, self._s.combined, self._text
        if trigger is None:
            m = combined.search(text, pos)
            return (m.start(), self._s.everything) if m else None
        while (t := trigger.search(text, pos)) is not None:
            if combined.match(text, t.start()):
                return t.start(), self._s.everything
            pos = t.start() + 1
        return None


class ReScanner:
    """One alternation of all patterns through Python's `re`, entered only where a match can begin.

    `re` has no fast path for a large alternation, so a second pattern made of every possible
    opening (first characters, or the literal label words a pattern starts with) finds candidate
    positions at C speed; the combined pattern is tried only there. Both together visit exactly
    the positions where some pattern matches.
    """

    name = "re"

    def __init__(self, regexes: Sequence[str]) -> None:
        self.combined = re.compile("|".join(f"(?:{_NAMED_GROUP.sub('(?:', r)})" for r in regexes))
        self.everything = tuple(range(len(regexes)))
        self.trigger = _trigger(regexes)

    def cursor(self, text: str) -> Cursor:
        return _ReCursor(self, text)

    def candidates(self, text: str, data: bytes | None = None) -> tuple[Sequence[int], Sequence[int]]:
        return _all_candidates(self.cursor(text))


def _trigger(regexes: Sequence[str]) -> re.Pattern[str] | None:
    units: set[str] = set()
    for regex in regexes:
        first = openings(regex)
        if first is None:
            log.debug("no literal opening for a pattern; the re scanner searches the full alternation")
            return None
        units |= first
    ordered = sorted(units, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered)))


_ZERO_WIDTH = {_constants.ASSERT, _constants.ASSERT_NOT, _constants.AT}
_MAX_CLASS = 512


def openings(regex: str) -> set[str] | None:
    """Strings one of which every match of `regex` starts with (None: not determinable)."""
    tree = _parser.parse(_NAMED_GROUP.sub("(?:", regex))
    if tree.state.flags & re.IGNORECASE:
        return None
    return _openings(list(tree.data))


def _openings(items: list) -> set[str] | None:  # items: sre parse tree nodes
    for i, (op, av) in enumerate(items):
        if op in _ZERO_WIDTH:
            continue
        if op is _constants.LITERAL:
            literal = [chr(av)]
            for nop, nav in items[i + 1 :]:
                if nop is not _constants.LITERAL:
                    break
                literal.append(chr(nav))
            return {"".join(literal)}
        if op is _constants.IN:
            return _class_chars(av)
        if op is _constants.SUBPATTERN:
            return _openings(list(av[3].data) + items[i + 1 :])
        if op is _constants.BRANCH:
            out: set[str] = set()
            for alternative in av[1]:
                sub = _openings(list(alternative.data) + items[i + 1 :])
                if sub is None:
                    return None
                out |= sub
            return out
        if op in (_constants.MAX_REPEAT, _constants.MIN_REPEAT):
            low, _, sub = av
            inner = _openings(list(sub.data))
            if inner is None:
                return None
            if low == 0:
                rest = _openings(items[i + 1 :])
                return None if rest is None else inner | rest
            return inner
        return None
    return None


def _class_chars(items: list) -> set[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _constants.LITERAL:
            chars.add(chr(av))
        elif op is _constants.RANGE:
            if av[1] - av[0] > _MAX_CLASS:
                return None
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        elif op is _constants.CATEGORY and av is _constants.CATEGORY_DIGIT:
            chars.update("0123456789")
        else:
            return None
    return chars


class _ListCursor:
    """Candidates as (start, pattern index) pairs sorted once, grouped by start on demand."""

    def __init__(self, pairs: list[tuple[int, int]]) -> None:
        pairs.sort()
        self._pairs = pairs
        self._starts = [start for start, _ in pairs]

    def next_start(self, pos: int) -> tuple[int, Sequence[int]] | None:
        i = bisect.bisect_left(self._starts, pos)
        if i >= len(self._starts):
            return None
        start = self._starts[i]
        j = bisect.bisect_right(self._starts, start, i)
        ids = [pid for _, pid in self._pairs[i:j]]  # ascending: the pairs are sorted
        return start, ids if len(ids) == 1 else list(dict.fromkeys(ids))


def _strip_lookarounds(regex: str) -> str:
    """Remove (?=..) (?!..) (?<=..) (?<!..) groups: Hyperscan lacks them; the result matches a superset."""
    out: list[str] = []
    i = 0
    while i < len(regex):
        if regex.startswith(("(?=", "(?!", "(?<=", "(?<!"), i) and (i == 0 or regex[i - 1] != "\\"):
            depth, j = 0, i
            while j < len(regex):
                ch = regex[j]
                if ch == "\\":
                    j += 2
                    continue
                if ch == "[":
                    j = _skip_class(regex, j)
                    continue
                if ch == "(":
                    depth += 1
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            i = j + 1
            continue
        if regex[i] == "\\":
            out.append(regex[i : i + 2])
            i += 2
            continue
        if regex[i] == "[":
            j = _skip_class(regex, i)
            out.append(regex[i:j])
            i = j
            continue
        out.append(regex[i])
        i += 1
    return "".join(out)


def _skip_class(regex: str, i: int) -> int:
    """Index just past the character class opening at i."""
    j = i + 1
    if j < len(regex) and regex[j] == "^":
        j += 1
    if j < len(regex) and regex[j] == "]":
        j += 1
    while j < len(regex) and regex[j] != "]":
        j += 2 if regex[j] == "\\" else 1
    return j + 1


_LEADING_GUARD = re.compile(r"^\(\?<!(\[[^\]]+\])\)")
_TRAILING_GUARD = re.compile(r"\(\?!(\[[^\]]+\])(?:\|[^()]*)?\)$")


def boundary_guards(regex: str) -> tuple[str, bool]:
    r"""Turn a leading `(?<![C])` into `(?:^|[^C])` and a trailing `(?![C]...)` into `(?:[^C]|$)`.

    Hyperscan has no lookarounds; without these guards a pattern such as `\d{16,19}` reports a
    match at every offset inside a long digit run. Returns the rewritten regex and whether it now
    consumes one boundary character before the real start.
    """
    leading = _LEADING_GUARD.match(regex)
    if leading:
        regex = f"(?:^|[^{leading.group(1)[1:-1]}])" + regex[leading.end() :]
    trailing = _TRAILING_GUARD.search(regex)
    if trailing:
        regex = regex[: trailing.start()] + f"(?:[^{trailing.group(1)[1:-1]}]|$)"
    return regex, leading is not None


MAX_REACH = 64  # characters: a longer window back from a match's end costs more than its start


@dataclass(frozen=True)
class StartReach:
    """Where a match of a guarded, bounded pattern can start, seen from where it ends.

    Hyperscan's leftmost start of match (SOM) doubles the cost of a scan over digit-dense exports.
    For a pattern that opens with `(?<![C])` (C: ASCII characters only) and has a bounded width, the
    starts are recovered from the end instead: every position `shortest` to `longest + 1` characters
    before it (one more for the trailing boundary character) whose character can open a match and
    whose preceding character is not in C. A superset of the true starts, as the scanner must give.
    """

    shortest: int
    longest: int
    guard: bytes  # 16-byte bitmap: the ASCII characters that may not precede a start (C)
    first: bytes  # 16-byte bitmap: the ASCII characters a match can start with


def start_reach(regex: str) -> StartReach | None:
    """The StartReach of `regex`, or None when its starts need Hyperscan's SOM."""
    leading = _LEADING_GUARD.match(regex)
    if leading is None:
        return None
    guard = _ascii_class(leading.group(1))
    opening = openings(regex)
    if guard is None or opening is None or not all(o and o[0].isascii() for o in opening):
        return None
    shortest, longest = _parser.parse(_NAMED_GROUP.sub("(?:", regex)).getwidth()
    if shortest < 1 or longest > MAX_REACH:
        return None
    return StartReach(shortest, longest, _bitmap(guard), _bitmap({ord(o[0]) for o in opening}))


def reach_starts(data: bytes, end: int, reach: StartReach) -> Iterator[int]:
    """The byte starts that `reach` allows for a match of the UTF-8 `data` ending at byte `end`
    (the reference of `_reach.pxi`'s `_reach_starts`, which the compiled modules use)."""
    p, back = end, 0
    while p > 0 and back <= reach.longest:
        p -= 1
        while p > 0 and data[p] & 0xC0 == 0x80:
            p -= 1
        back += 1
        opens_here = back >= reach.shortest and _has(reach.first, data[p])
        if opens_here and (p == 0 or not _has(reach.guard, data[p - 1])):
            yield p


def _has(bitmap: bytes, c: int) -> bool:
    return c < 0x80 and bool(bitmap[c >> 3] >> (c & 7) & 1)


def _ascii_class(cls: str) -> set[int] | None:
    """The code points of a class such as `[0-9A-Za-z+]`, or None unless it holds ASCII only."""
    ((op, items),) = _parser.parse(cls).data
    if op is not _constants.IN:
        return None
    chars: set[int] = set()
    for kind, av in items:
        if kind is _constants.LITERAL and av < 0x80:
            chars.add(av)
        elif kind is _constants.RANGE and av[1] < 0x80:
            chars.update(range(av[0], av[1] + 1))
        else:
            return None
    return chars


def _bitmap(codes: set[int]) -> bytes:
    bits = bytearray(16)
    for c in codes:
        bits[c >> 3] |= 1 << (c & 7)
    return bytes(bits)


def to_hyperscan(regex: str) -> bytes:
    pattern = _NAMED_GROUP.sub("(?:", _strip_lookarounds(regex))
    pattern = re.sub(r"\\u([0-9a-fA-F]{4})", r"\\x{\1}", pattern)
    pattern = re.sub(r"(?<!\\)\(\?:\)\??", "", pattern)  # empty groups left by stripping
    return pattern.encode("utf-8")


# Below this share of ASCII letters and digits in a block (Chinese prose), the open database scans it
# two to three times faster than the guarded one; in digit-dense exports the guarded one is twice as
# fast (bench/README.md, "seventeenth round"). Read from every SAMPLE_STEP-th byte: a prime, so that
# rows of a fixed width are not read at the same column each time.
OPEN_BELOW = 0.05
SAMPLE_STEP = 61
_ALNUM = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def few_alnum(data: bytes) -> bool:
    """Are fewer than OPEN_BELOW of `data`'s bytes (sampled) ASCII letters and digits?"""
    sample = data[::SAMPLE_STEP]
    return len(sample) - len(sample.translate(None, _ALNUM)) < OPEN_BELOW * len(sample)


def open_regex(regex: str) -> str:
    """`regex` without its leading guard `(?<![C])`.

    For a StartReach pattern the guard only thins out its ends (reach_starts checks it again from
    each end), and it opens the pattern with a class of nearly every character, which keeps
    Hyperscan from skipping ahead to the next character that can begin a match. Without it, the
    pattern's ends are a superset of its guarded ends: prose scans faster, digit runs slower (each
    digit may begin a match)."""
    return _LEADING_GUARD.sub("", regex, count=1)


class HyperscanScanner:
    """All patterns in one Hyperscan block database (UTF-8). A pattern's starts come from Hyperscan's
    leftmost start of match, or for a guarded, bounded pattern from its ends (StartReach).

    Two databases of the same patterns: the guarded one, and the open one, in which the StartReach
    patterns lack their leading guards (`open_regex`); a block with few ASCII letters and digits is
    scanned with the open one (`few_alnum`). Both give every true start, so the findings are the same.

    Through the compiled `_native` module where it is built (libhs's C API: matches collected in C),
    else through the `hyperscan` binding (a Python callback per match); same candidates either way.
    `native`: as `compiled.native` (None: where built and not switched off)."""

    name = "hyperscan"

    def __init__(self, regexes: Sequence[str], native: bool | None = None) -> None:
        guarded = [boundary_guards(r) for r in regexes]
        self._consumes = [consumes for _, consumes in guarded]
        self._reaches = [start_reach(r) for r in regexes]
        self._reach_fields = [None if r is None else astuple(r) for r in self._reaches]  # as C reads them
        expressions = [to_hyperscan(r) for r, _ in guarded]
        open_expressions = [
            e if reach is None else to_hyperscan(boundary_guards(open_regex(r))[0])
            for r, e, reach in zip(regexes, expressions, self._reaches, strict=True)
        ]
        flags = [
            HS_FLAG_UTF8 | HS_FLAG_SOM_LEFTMOST if reach is None else HS_FLAG_UTF8 for reach in self._reaches
        ]
        self._native = compiled_modules.native(native)
        if self._native is None:
            import hyperscan

            self._hs = hyperscan
        guarded_db = self._database(expressions, flags)
        self._databases = (
            guarded_db,
            guarded_db if open_expressions == expressions else self._database(open_expressions, flags),
        )

    def _database(self, expressions: list[bytes], flags: list[int]) -> object:
        """The compiled database of `expressions` (from the disk cache where stored): a `_native`
        Database ready to collect candidates, or the binding's database and its scratch space."""
        if self._native is not None:
            lib = self._native
            db = compiled_database(
                expressions,
                flags,
                lambda: lib.Database.compile(expressions, flags),
                f"libhs {lib.library_version()}",
                load=lambda data: lib.Database.load(data, len(expressions)),
                dump=lambda db: db.serialize(),
            )
            db.set_consumes(self._consumes)
            db.set_reaches(self._reach_fields)
            return db
        db = compiled_database(
            expressions, flags, lambda: self._compile(expressions, flags), self._hs.__version__
        )
        return db, self._hs.Scratch(db)

    def _for(self, data: bytes) -> Any:
        """The database that scans `data` faster (see OPEN_BELOW); no sample when there is one."""
        guarded, opened = self._databases
        return guarded if guarded is opened or not few_alnum(data) else opened

    def _compile(self, expressions: list[bytes], flags: list[int]) -> object:
        db = self._hs.Database(mode=self._hs.HS_MODE_BLOCK)
        db.compile(
            expressions=expressions, ids=list(range(len(expressions))), elements=len(expressions), flags=flags
        )
        return db

    def candidates(self, text: str, data: bytes | None = None) -> tuple[Sequence[int], Sequence[int]]:
        """Collected in C (typed arrays) where `_native` or the compiled loop is built, else the
        cursor's (lists)."""
        return self._collect(text, -1, data)

    def candidates_apart(
        self, text: str, first: int, data: bytes | None = None
    ) -> tuple[tuple[Sequence[int], Sequence[int]], tuple[Sequence[int], Sequence[int]]]:
        """`candidates` of the patterns before index `first` and, apart, of those from `first` on
        (indices counted from `first`): another reader's patterns, scanned in the same pass."""
        if first < 0:
            raise ValueError("first must be >= 0")
        starts, ids, more_starts, more_ids = self._collect(text, first, data)
        return (starts, ids), (more_starts, more_ids)

    def _collect(self, text: str, first: int, data: bytes | None) -> tuple[Sequence[int], ...]:
        if data is None:
            data = text.encode("utf-8", "surrogatepass")
        if self._native is not None:
            return self._for(data).candidates(data, first)
        compiled = compiled_modules.core()
        if compiled is None:
            return _apart(*_all_candidates(self.cursor(text)), first)
        collect = compiled.HitCollector(data, self._consumes, self._reach_fields)
        db, scratch = self._for(data)
        db.scan(data, match_event_handler=collect, scratch=scratch)
        return collect.candidates(first)

    def cursor(self, text: str) -> Cursor:
        if self._native is not None:
            starts, ids = self.candidates(text)
            return _ListCursor(list(zip(starts, ids, strict=True)))
        data = text.encode("utf-8", "surrogatepass")
        hits: list[tuple[int, int]] = []  # (byte start, pattern index)
        consumes, reaches = self._consumes, self._reaches

        def on_match(pattern_id: int, start: int, end: int, flags: int, context: object) -> None:
            reach = reaches[pattern_id]
            if reach is not None:
                hits.extend((s, pattern_id) for s in reach_starts(data, end, reach))
                return
            if consumes[pattern_id]:  # the match may begin with the boundary character: skip it
                if start == 0:
                    hits.append((0, pattern_id))
                lead = data[start]
                start += 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
            hits.append((start, pattern_id))

        db, scratch = self._for(data)
        db.scan(data, match_event_handler=on_match, scratch=scratch)
        if data.isascii():
            return _ListCursor(hits)
        hits.sort()
        pairs: list[tuple[int, int]] = []
        chars, prev = 0, 0
        for b, pid in hits:
            if b != prev:
                chars += len(data[prev:b].decode("utf-8", "surrogatepass"))
                prev = b
            pairs.append((chars, pid))
        return _ListCursor(pairs)


def make_scanner(regexes: Sequence[str], backend: str = "auto", native: bool | None = None) -> Scanner:
    """`auto` uses Hyperscan when it imports and compiles, else Python `re`. `native`: see
    HyperscanScanner."""
    if backend in ("auto", "hyperscan"):
        try:
            return HyperscanScanner(regexes, native)
        except Exception as exc:  # ImportError, or a pattern Hyperscan cannot compile
            if backend == "hyperscan":
                raise
            log.debug("hyperscan unavailable (%s); using re", type(exc).__name__)
    if backend not in ("auto", "re", "hyperscan"):
        raise ValueError(f"unknown detection backend {backend!r} (auto, hyperscan, re)")
    return ReScanner(regexes)
