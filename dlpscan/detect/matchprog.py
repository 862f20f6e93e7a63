"""A definition's regex as a program for the compiled loop's matcher (`_core.Matcher`), so that a
candidate is confirmed without a call into `re`: that call (a match object, a span, Unicode digit
lookups) was over a third of the compiled loop's time on dense exports.

The matcher decides as `re.match(text, pos).end()` does, by the same backtracking in the same order
(greedy repeats longest first, alternatives left to right, lookarounds atomic), for the part of `re`
that identifier patterns use: literals, classes (ranges, \\d \\s \\w and their negations, Unicode
semantics), greedy repeats, non-capturing and capturing groups, alternation, lookahead and fixed-width
lookbehind. Anything else (flags, anchors, lazy or possessive repeats, back-references, a repeated
group that can match nothing or repeats without a small bound) gives None and the loop calls `re`.
tests/test_matchprog.py holds both to the same ends on every shipped pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]

SET, REPEAT, BRANCH, GROUP_REPEAT, AHEAD, NOT_AHEAD, BEHIND, NOT_BEHIND = range(8)
DIGIT, NOT_DIGIT, SPACE, NOT_SPACE, WORD, NOT_WORD = (1 << i for i in range(6))
GROUP_REPEAT_MAX = 64  # a repeated group recurses once per repetition: the product of nested
# repeated groups' bounds caps the matcher's depth of C calls
UNBOUNDED = 2**31 - 1

_CATEGORIES = {
    sre.CATEGORY_DIGIT: DIGIT,
    sre.CATEGORY_NOT_DIGIT: NOT_DIGIT,
    sre.CATEGORY_SPACE: SPACE,
    sre.CATEGORY_NOT_SPACE: NOT_SPACE,
    sre.CATEGORY_WORD: WORD,
    sre.CATEGORY_NOT_WORD: NOT_WORD,
}


@dataclass(frozen=True, slots=True)
class CharSet:
    """One character class. `ascii`: a bit per ASCII character, negation applied; `ranges` (inclusive,
    any code point) and `categories` (as re's Unicode categories) decide the others, then `negate`."""

    ascii: int
    ranges: tuple[tuple[int, int], ...]
    categories: int
    negate: bool


@dataclass(frozen=True, slots=True)
class Node:
    """`next`: the node after this one (-1: the end of the pattern, or of a group's or lookaround's
    body). SET: one character of `cset`. REPEAT: `lo`..`hi` characters of `cset`, greedy.
    BRANCH: `alts` tried in order. GROUP_REPEAT: `body` `lo`..`hi` times, greedy. AHEAD..NOT_BEHIND:
    `body` must (not) match here, or `width` characters back."""

    op: int
    next: int
    cset: int = -1
    lo: int = 0
    hi: int = 0
    body: int = -1
    alts: tuple[int, ...] = ()
    width: int = 0


@dataclass(slots=True)
class Program:
    start: int
    nodes: list[Node] = field(default_factory=list)
    sets: list[CharSet] = field(default_factory=list)


class _Unsupported(Exception):
    pass


def program(pattern: re.Pattern[str]) -> Program | None:
    """The matcher's program for `pattern`, or None when it uses anything outside the subset."""
    if not isinstance(pattern.pattern, str) or pattern.flags & ~sre.SRE_FLAG_UNICODE:
        return None
    try:
        parsed = _parser.parse(pattern.pattern, pattern.flags)
        if parsed.state.flags & ~sre.SRE_FLAG_UNICODE:  # inline flags: (?i) and the like
            return None
        built = _Builder()
        start = built.sequence(list(parsed), -1)
    except (_Unsupported, re.error, RecursionError):
        return None
    return Program(start, built.nodes, built.sets)


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.sets: list[CharSet] = []
        self._set_index: dict[CharSet, int] = {}
        self._depth = 1  # the product of the bounds of the repeated groups being built

    def _add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def sequence(self, items: list[tuple[object, object]], after: int) -> int:
        """The first node of `items` followed by node `after` (-1: the end)."""
        for op, av in reversed(items):
            after = self._item(op, av, after)
        return after

    def _item(self, op: object, av: object, after: int) -> int:
        if op in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
            return self._add(Node(SET, after, cset=self._set(op, av)))
        if op is sre.MAX_REPEAT:
            lo, hi, body = av  # type: ignore[misc]
            items = list(body)
            if len(items) == 1 and items[0][0] in (sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN):
                hi = UNBOUNDED if hi == sre.MAXREPEAT else hi
                return self._add(Node(REPEAT, after, cset=self._set(*items[0]), lo=lo, hi=hi))
            if hi == sre.MAXREPEAT or self._depth * hi > GROUP_REPEAT_MAX or body.getwidth()[0] == 0:
                raise _Unsupported
            index = self._add(Node(GROUP_REPEAT, after))  # its body ends at -1: the matcher loops
            self._depth *= hi
            inner = self.sequence(items, -1)
            self._depth //= hi
            self.nodes[index] = Node(GROUP_REPEAT, after, lo=lo, hi=hi, body=inner)
            return index
        if op is sre.SUBPATTERN:
            _group, add_flags, del_flags, body = av  # type: ignore[misc]
            if add_flags or del_flags:
                raise _Unsupported
            return self.sequence(list(body), after)
        if op is sre.BRANCH:
            _, alternatives = av  # type: ignore[misc]
            alts = tuple(self.sequence(list(a), after) for a in alternatives)
            return self._add(Node(BRANCH, after, alts=alts))
        if op in (sre.ASSERT, sre.ASSERT_NOT):
            direction, body = av  # type: ignore[misc]
            positive = op is sre.ASSERT
            inner = self.sequence(list(body), -1)
            if direction == 1:
                return self._add(Node(AHEAD if positive else NOT_AHEAD, after, body=inner))
            lo, hi = body.getwidth()
            if lo != hi:
                raise _Unsupported
            kind = BEHIND if positive else NOT_BEHIND
            return self._add(Node(kind, after, body=inner, width=lo))
        raise _Unsupported  # anchors, lazy or possessive repeats, back-references, atomic groups

    def _set(self, op: object, av: object) -> int:
        members: list[tuple[object, object]]
        negate = False
        if op is sre.LITERAL:
            members = [(sre.LITERAL, av)]
        elif op is sre.NOT_LITERAL:
            members, negate = [(sre.LITERAL, av)], True
        elif op is sre.ANY:  # no DOTALL (flags are refused): anything but a line feed
            members, negate = [(sre.LITERAL, ord("\n"))], True
        else:
            members = list(av)  # type: ignore[call-overload]
            if members and members[0][0] is sre.NEGATE:
                members, negate = members[1:], True
        ranges: list[tuple[int, int]] = []
        categories = 0
        for kind, value in members:
            if kind is sre.LITERAL:
                ranges.append((value, value))  # type: ignore[arg-type]
            elif kind is sre.RANGE:
                ranges.append(value)  # type: ignore[arg-type]
            elif kind is sre.CATEGORY and value in _CATEGORIES:
                categories |= _CATEGORIES[value]
            else:
                raise _Unsupported
        ascii_bits = 0
        for lo, hi in ranges:
            if lo < 128:
                ascii_bits |= (1 << (min(hi, 127) + 1)) - (1 << lo)
        for flag, bits in _ASCII_CATEGORY_BITS.items():
            if categories & flag:
                ascii_bits |= bits
        if negate:
            ascii_bits ^= (1 << 128) - 1
        charset = CharSet(ascii_bits, tuple(ranges), categories, negate)
        index = self._set_index.get(charset)
        if index is None:
            self.sets.append(charset)
            index = self._set_index[charset] = len(self.sets) - 1
        return index


def _category_bits(test: Callable[[str], bool]) -> int:
    return sum(1 << c for c in range(128) if test(chr(c)))


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


# The ASCII members of re's Unicode categories (str.isdecimal, isspace and isalnum are what re uses).
_ASCII_CATEGORY_BITS = {
    DIGIT: _category_bits(str.isdecimal),
    NOT_DIGIT: _category_bits(lambda ch: not ch.isdecimal()),
    SPACE: _category_bits(str.isspace),
    NOT_SPACE: _category_bits(lambda ch: not ch.isspace()),
    WORD: _category_bits(_is_word),
    NOT_WORD: _category_bits(lambda ch: not _is_word(ch)),
}
