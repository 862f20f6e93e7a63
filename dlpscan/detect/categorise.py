"""Which records of a block hold a legal data category (lodging, call records, credit …).

A table is of a category when its columns cover one of the category's `requires` sets of fields,
known by header (one pass over the header row, cached) or by a sample of a column's cells; a row
of it holds the category when those cells are filled and the row identifies a person. Free text:
one compiled scan for every category's labels and patterns over the whole block (folded, as the
engine reads it; the engine's own Hyperscan pass where it shares it), then each record span (a
line, or a paragraph about one person) that identifies a person and shows enough evidence.
Cost: per column and per identified row, never a regex per cell.
"""

from __future__ import annotations

import bisect
import operator
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from dlpscan.detect import compiled
from dlpscan.detect.backends import Candidates, Scanner, make_scanner
from dlpscan.detect.categories import CategoryDef, FieldDef
from dlpscan.detect.scoring import Finding
from dlpscan.detect.text import fold
from dlpscan.entities import EntityTypes
from dlpscan.model import Block, TableBlock

SAMPLE = 20  # cells of a column read to confirm (or find) a field by its contents
CONFIRM_SHARE = 0.5  # share of sampled cells a header-found column must match
CONTENT_SHARE = 0.8  # share of sampled cells a column without a known header must match
_EMPTY = frozenset({"", "-", "--", "/", "null", "none", "nan", "n/a", "无", "空"})
_SEPARATORS = re.compile(r"[\s_\-:：()（）\[\]【】/\\#.]+")
_TOKEN = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
PARAGRAPH_LINES = 60  # a longer paragraph is a list, not one person's record: its lines are spans
_Rank = tuple[bool, bool, int]  # (not a person key, not a direct identifier, type order): lowest is strongest


@dataclass(frozen=True, slots=True)
class CategoryRecord:
    """One record (table row or text span) holding a category. Raw text: never leaves the process.

    `identity`: the record's strongest identifier as 'TYPE value'; `record`: the record's content,
    for de-duplication; `position`: where a track point is (track categories), else ''.
    """

    identity: str
    record: str
    position: str = ""


@dataclass(slots=True)
class BlockCategory:
    """A category's records in one block, and what decided it (vocabulary words, pattern names)."""

    category: str
    basis: tuple[str, ...]
    records: list[CategoryRecord]


class _Vocabulary:
    """A field's header words: Chinese words match inside a header; English or pinyin words of five
    letters or more match inside the header with separators removed, shorter ones (`rzrq`, `lat`)
    only the whole header or one of its words (`gps_lat`, `gpsLat`)."""

    def __init__(self, words: Sequence[str]) -> None:
        self._inside = [(w, _compact(w)) for w in words if not w.isascii() or len(_compact(w)) >= 5]
        self._whole = {_compact(w): w for w in words if w.isascii() and len(_compact(w)) < 5}

    def match(self, compact: str, tokens: frozenset[str]) -> str | None:
        for word, key in self._inside:
            if key in compact:
                return word
        if compact in self._whole:
            return self._whole[compact]
        return next((self._whole[t] for t in tokens if t in self._whole), None)


def _compact(header: str) -> str:
    return _SEPARATORS.sub("", fold(header)).lower()


def _tokens(header: str) -> frozenset[str]:
    return frozenset(t.lower() for t in _TOKEN.findall(fold(header)))


def _last_key(header: str) -> str:
    """A path of nested keys (order.buyer.phone) is named by its last key."""
    return header.rsplit(".", 1)[-1] if "." in header else header


def _filled(cell: str) -> bool:
    if len(cell) > 6:  # longer than any empty marker: filled unless blank
        return not cell.isspace()
    return cell.strip().lower() not in _EMPTY


class _Category:
    """One definition, prepared: vocabularies compiled, header plans cached."""

    def __init__(self, d: CategoryDef) -> None:
        self.d = d
        self.vocab = {name: _Vocabulary(f.headers) for name, f in d.fields.items()}
        self.content = {name: f for name, f in d.fields.items() if f.by_content}

    def header_fields(self, header: tuple[str, ...]) -> dict[int, tuple[str, str]]:
        """Column -> (field, vocabulary word) for the columns whose header names a field."""
        out: dict[int, tuple[str, str]] = {}
        for c, h in enumerate(header):
            if not h.strip():
                continue
            key = _last_key(h)
            compact, tokens = _compact(key), _tokens(key)
            for name, vocab in self.vocab.items():
                word = vocab.match(compact, tokens)
                if word is not None:
                    out[c] = (name, word)
                    break
        return out


class Categoriser:
    """The category definitions applied to blocks and their findings."""

    def __init__(self, categories: Sequence[CategoryDef], types: EntityTypes, backend: str = "auto") -> None:
        self._categories = [_Category(d) for d in categories]
        # What identifies a person: a direct identifier, or a fingerprinted personal value (a name)
        # beside the category's own fields; the strongest sorts first.
        self._rank = {
            name: (not t.person_key, not t.direct_identifier, t.order)
            for name, t in types.items()
            if t.personal_data and (t.direct_identifier or t.fingerprint)
        }
        self._plans: dict[tuple[str, ...], list[dict[int, tuple[str, str]]]] = {}
        self._evidence: list[tuple[int, str, re.Pattern[str]]] = []  # (category index, name, regex)
        for i, c in enumerate(self._categories):
            if c.d.text is None:
                continue
            for word in c.d.text.labels:
                self._evidence.append((i, f"label:{word}", re.compile(re.escape(fold(word)))))
            for p in c.d.text.patterns:
                self._evidence.append((i, f"pattern:{p.name}", re.compile(p.regex)))
        self._backend = backend

    @property
    def evidence_patterns(self) -> list[str]:
        """The regexes of text evidence, in the index order of `block`'s `shared` candidates."""
        return [e[2].pattern for e in self._evidence]

    @cached_property
    def _scanner(self) -> Scanner | None:
        """Our own scan, for blocks whose evidence candidates the engine did not give (built on use)."""
        return make_scanner(self.evidence_patterns, self._backend) if self._evidence else None

    def block(
        self, block: Block, findings: list[Finding], shared: Candidates | None = None
    ) -> list[BlockCategory]:
        """The block's category records. `shared`: the candidates of `evidence_patterns` in the
        folded text of a text block, from the engine's scan (else the categoriser scans)."""
        if not findings or not self._categories:
            return []
        if isinstance(block, TableBlock):
            return self._table(block, findings)
        return self._text(block.text, findings, shared)

    def _identities(self, findings: Iterable[Finding]) -> dict[int, tuple[_Rank, str]]:
        """Record index -> (rank, 'TYPE value') of its strongest identifier, for records that have one."""
        best: dict[int, tuple[_Rank, Finding]] = {}
        rank = self._rank
        for f in findings:
            r = rank.get(f.entity_type)
            if r is None or f.masked or f.damaged:
                continue
            held = best.get(f.record)
            if held is None or r < held[0]:
                best[f.record] = (r, f)
        return {record: (r, f"{f.entity_type} {f.value}") for record, (r, f) in best.items()}

    # -- tables -----------------------------------------------------------------------------
    def _table(self, block: TableBlock, findings: list[Finding]) -> list[BlockCategory]:
        header = tuple(block.header)
        plans = self._plans.get(header)
        if plans is None:
            plans = [c.header_fields(header) for c in self._categories]
            if len(self._plans) > 256:
                self._plans.clear()
            self._plans[header] = plans
        rows = block.rows
        width = max([len(header), *(len(r) for r in rows[:SAMPLE])], default=0)
        found = []  # (category, columns per field, satisfied sets, basis per field)
        samples = _Samples(rows)
        for category, by_header in zip(self._categories, plans, strict=True):
            columns: dict[str, list[int]] = defaultdict(list)
            basis: dict[str, str] = {}
            for c, (name, word) in by_header.items():
                f = category.d.fields[name]
                if f.compiled is None or samples.share(c, f) >= CONFIRM_SHARE:
                    columns[name].append(c)
                    basis.setdefault(name, f"header:{word}")
            for name, f in category.content.items():
                if name in columns:
                    continue
                for c in range(width):
                    if c not in by_header and samples.share(c, f) >= CONTENT_SHARE:
                        columns[name].append(c)
                        basis.setdefault(name, f"content:{name}")
            sets = [s for s in category.d.requires if all(name in columns for name in s)]
            if sets:
                found.append((category, columns, sets, basis))
        if not found:  # most tables: decided by the header row and a sample, no row is read
            return []
        identities = self._identities(findings)
        out = []
        for category, columns, sets, basis in found:
            wanted = [[columns[name] for name in s] for s in sets]
            position = [c for name in category.d.track for c in columns.get(name, ())]
            records = []
            for r, (_, identity) in identities.items():
                if 0 <= r < len(rows) and _holds(rows[r], wanted):
                    row = rows[r]
                    where = "\x1f".join(row[c] for c in position if c < len(row)) if position else ""
                    records.append(CategoryRecord(identity, "\x1f".join(row), where))
            if records:
                used = dict.fromkeys(basis[name] for s in sets for name in s)
                out.append(BlockCategory(category.d.category, tuple(used), records))
        return out

    # -- text -------------------------------------------------------------------------------
    def _text(self, text: str, findings: list[Finding], shared: Candidates | None) -> list[BlockCategory]:
        """Evidence first (one compiled scan of the folded text, which has the offsets of `text`);
        identities only for the spans around evidence."""
        if shared is not None:
            folded, starts, ids = shared.text, shared.starts, shared.ids
        elif self._scanner is None:
            return []
        else:
            folded = fold(text)
            starts, ids = self._scanner.candidates(folded)
        seen: dict[int, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))  # line -> cat -> names
        offsets: dict[int, int] = {}  # line -> an offset on it
        core = compiled.core()
        newlines = core.count_newlines if core is not None else _count_newlines
        line, last = 0, 0
        for start, idx in zip(starts, ids, strict=True):
            i, name, regex = self._evidence[idx]
            if regex.match(folded, start) is not None:
                line += newlines(text, last, start)
                last = start
                seen[line][i].add(name)
                offsets.setdefault(line, start)
        if not seen:
            return []
        found: dict[int, BlockCategory] = {}
        for (lo, hi), lines, identity in self._spans(text, offsets, findings):
            evidence: dict[int, set[str]] = defaultdict(set)
            for n in lines:
                for i, names in seen.get(n, {}).items():
                    evidence[i] |= names
            for i, names in evidence.items():
                category = self._categories[i]
                assert category.d.text is not None
                if len(names) < category.d.text.min_evidence:
                    continue
                hit = found.setdefault(i, BlockCategory(category.d.category, (), []))
                hit.records.append(CategoryRecord(identity, text[lo:hi].strip()))
                hit.basis = tuple(dict.fromkeys((*hit.basis, *sorted(names))))
        return [found[i] for i in sorted(found)]

    def _spans(
        self, text: str, offsets: dict[int, int], findings: list[Finding]
    ) -> list[tuple[tuple[int, int], range, str]]:
        """Record spans around lines with evidence, as ((start, end), lines, identity): a short
        paragraph whose strongest identifier is one value (a case note, a form about one person) is
        one span; otherwise each line that identifies a person is its own."""
        out: list[tuple[tuple[int, int], range, str]] = []
        done: set[int] = set()
        long_run = [-1, -1]
        core = compiled.core()
        for line, at in sorted(offsets.items()):
            lo, hi = text.rfind("\n", 0, at) + 1, _line_end(text, at)
            if core is not None:
                paragraph = core.paragraph(text, lo, hi, line, long_run, PARAGRAPH_LINES)
            else:
                paragraph = _paragraph(text, lo, hi, line, long_run)
            if paragraph is not None:
                (p_lo, p_hi), first, last = paragraph
                if first in done:
                    continue
                done.add(first)
                people = self._identities(_on_lines(findings, first, last))
                strongest = min((r for r, _ in people.values()), default=None)
                named = {who for r, who in people.values() if r == strongest}
                if len(named) == 1:
                    out.append(((p_lo, p_hi), range(first, last + 1), named.pop()))
                    continue
            people = self._identities(_on_lines(findings, line, line))
            if line in people:
                out.append(((lo, hi), range(line, line + 1), people[line][1]))
        return out


def _count_newlines(text: str, lo: int, hi: int) -> int:
    """The line breaks in text[lo:hi] (the reference of the compiled `count_newlines`)."""
    return text.count("\n", lo, hi)


def _line_end(text: str, at: int) -> int:
    end = text.find("\n", at)
    return len(text) if end < 0 else end


def _paragraph(
    text: str, lo: int, hi: int, line: int, long_run: list[int]
) -> tuple[tuple[int, int], int, int] | None:
    """The paragraph (between blank lines) holding the line text[lo:hi] (number `line`), as
    ((start, end), first line, last line); None when it is longer than PARAGRAPH_LINES.

    `long_run` is [start, end) of a stretch of more than PARAGRAPH_LINES non-blank lines found by an
    earlier call on `text` ([-1, -1]: none yet), kept up to date here: a line in it, or whose walk up
    reaches it, is in a paragraph too long as well. Prose without blank lines is then walked once,
    not PARAGRAPH_LINES lines per line with evidence. `_core.paragraph` is this walk in C."""
    if long_run[0] <= lo < long_run[1]:
        return None
    first, start = line, lo
    while start > 0:
        if long_run[0] < start - 1 <= long_run[1]:  # the line above is the stretch's last
            if text[lo:hi].strip():
                long_run[1] = hi
            return None
        prev = text.rfind("\n", 0, start - 1) + 1
        if not text[prev : start - 1].strip():
            break
        first, start = first - 1, prev
        if line - first >= PARAGRAPH_LINES:
            if text[lo:hi].strip():
                long_run[:] = [start, hi]
            return None
    last, end = line, hi
    while end < len(text):
        nxt = _line_end(text, end + 1)
        if not text[end + 1 : nxt].strip():
            break
        last, end = last + 1, nxt
        if last - first >= PARAGRAPH_LINES:
            if text[lo:hi].strip():
                long_run[:] = [start, end]
            return None
    return (start, end), first, last


def _on_lines(findings: list[Finding], first: int, last: int) -> list[Finding]:
    """The findings on lines first..last (text findings come in text order)."""
    lo = bisect.bisect_left(findings, first, key=_record)
    return findings[lo : bisect.bisect_right(findings, last, lo=lo, key=_record)]


_record = operator.attrgetter("record")  # a finding's line: the bisect key, read in C


def _holds(row: tuple[str, ...], wanted: list[list[list[int]]]) -> bool:
    """Does the row fill some set of fields (a field: any of its columns)? Plain loops: this runs
    for every identified row of a category table."""
    width = len(row)
    for fields in wanted:
        for columns in fields:
            for c in columns:
                if c < width and _filled(row[c]):
                    break
            else:
                break  # this field is empty
        else:
            return True
    return False


class _Samples:
    """The first SAMPLE filled cells of each column of a block, stripped, read once per column: every
    category's fields test the same sample."""

    def __init__(self, rows: list[tuple[str, ...]]) -> None:
        self._rows = rows
        self._columns: dict[int, list[str]] = {}

    def share(self, column: int, f: FieldDef) -> float:
        """Share of the column's sample that matches the field's `values` in full."""
        pattern = f.compiled
        assert pattern is not None
        cells = self._columns.get(column)
        if cells is None:
            cells = self._columns[column] = self._sample(column)
        return (len(cells) - list(map(pattern.fullmatch, cells)).count(None)) / len(cells) if cells else 0.0

    def _sample(self, column: int) -> list[str]:
        cells: list[str] = []
        for row in self._rows:
            if column < len(row) and _filled(row[column]):
                cells.append(row[column].strip())
                if len(cells) >= SAMPLE:
                    break
        return cells
