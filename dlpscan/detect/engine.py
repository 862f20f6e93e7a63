"""The fast engine: one compiled scanner over whole blocks, validators only on candidates.

Cost is linear in the input: the scanner proposes candidate starts, each confirmed by its exact
pattern, scored (scoring.evaluate) and resolved so that spans never overlap.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from dlpscan.detect import columns, decoded
from dlpscan.detect import compiled as compiled_core
from dlpscan.detect.backends import Candidates, HyperscanScanner, Scanner, make_scanner
from dlpscan.detect.decide import rank, walk, whole_cell_types
from dlpscan.detect.evidence import (
    COMPANION_WINDOW,
    cell_finding,
    cell_value,
    companion_names,
    with_line_numbers,
)
from dlpscan.detect.layout import TableLayout, table_layout
from dlpscan.detect.registry import PatternDef, RecognizerDef, label_words, load_definitions
from dlpscan.detect.scoring import Finding, Labels, evaluate, header_relation
from dlpscan.detect.text import fold
from dlpscan.model import Block, TableBlock

_NEWLINE = re.compile("\n")
HEADERS_KEPT = 256  # distinct table headers whose relations are kept (a few KB each at most)


@dataclass(frozen=True, slots=True)
class _Pass:
    """One scan of folded text: the definitions' candidates (parallel sequences), the extra patterns'
    (None: not shared) and whether the text may hold encoded values (decoded.hinted)."""

    starts: Sequence[int]
    ids: Sequence[int]
    extra: Candidates | None
    hinted: bool


class Engine:
    """Detect entities in blocks of text or table rows with all definitions at once."""

    def __init__(
        self,
        definitions: Iterable[RecognizerDef] | None = None,
        backend: str = "auto",
        compiled: bool | None = None,
        extra_patterns: Sequence[str] = (),
    ) -> None:
        """`compiled`: None uses the compiled candidate loop when it is built (and DLPSCAN_PURE_PYTHON
        is not set); False forces the pure-Python reference loop; True requires the compiled one.
        `extra_patterns`: another reader's regexes (the categoriser's evidence), scanned in the same
        Hyperscan pass as the definitions' where the compiled loop runs; `scan_block` returns their
        candidates in text blocks."""
        self.definitions = tuple(definitions if definitions is not None else load_definitions())
        self._entries: list[tuple[RecognizerDef, Labels, PatternDef]] = []
        known = label_words(self.definitions)
        self._labels = {d.entity: Labels.of(d, known) for d in self.definitions}
        for d in self.definitions:
            for p in d.patterns:
                self._entries.append((d, self._labels[d.entity], p))
        # Highest priority first (stable): scanners report pattern indices in ascending order, so
        # at a candidate start the strongest types are tried first and weaker ones can be skipped.
        self._entries.sort(key=lambda entry: -entry[0].priority)
        self._priority = {d.entity: d.priority for d in self.definitions}
        self._direct = frozenset(d.entity for d in self.definitions if d.direct_identifier)
        native = False if compiled is False else None  # the pure loop runs with the pure scanner
        self._core = compiled_core.core(compiled)
        self._shares_extra = bool(extra_patterns)
        self._scanner, self._extra_from = self._make_scanner(
            [p.scan_regex for _, _, p in self._entries],
            [*decoded.HINT_PATTERNS, *extra_patterns],
            backend,
            native,
        )
        self.backend = self._scanner.name
        self._cell_defs = [d for d in self.definitions if d.cell_detector]
        self._cell_types = frozenset(d.entity for d in self._cell_defs)
        self._names = next((d for d in self.definitions if d.entity == "CN_NAME"), None)
        self._is_label = columns.LabelCells(w for d in self.definitions for w in d.headers)
        self._value_checks = [
            (p.compiled, d.normalise, self._labels[d.entity].validate)
            for d in self.definitions
            if not d.cell_detector
            for p in d.patterns
            if not p.masked and p.value_group is None
        ]
        fast = self._core.fast_validator if self._core is not None else lambda validate: validate
        self._validate = {entity: fast(labels.validate) for entity, labels in self._labels.items()}
        self._plan = self._core.Plan(self._entries) if self._core is not None else None
        self._fold: Callable[[str], str] = self._core.fold if self._core is not None else fold
        # The compiled loop's Hyperscan pass reads the folded text's UTF-8, made in fold's pass.
        self._fold_utf8: Callable[[str], tuple[str, bytes]] | None = (
            self._core.fold_utf8
            if self._core is not None and isinstance(self._scanner, HyperscanScanner)
            else None
        )
        self._layout: Callable[[Sequence[Sequence[str]]], TableLayout] = (
            self._core.table_layout if self._core is not None else table_layout
        )
        self._found_rows = self._core.found_rows if self._core is not None else columns.found_rows
        self.compiled = self._plan is not None
        self._relations: dict[tuple[str, ...], dict[tuple[str, int], int]] = {}

    def _make_scanner(
        self, regexes: list[str], extra: list[str], backend: str, native: bool | None
    ) -> tuple[Scanner, int | None]:
        """The scanner, and the index of the first extra pattern in it (None: extras not shared).
        Extras share only a Hyperscan pass read by the compiled loop, which takes candidates split."""
        if extra and self._core is not None and backend != "re":
            shared = make_scanner(regexes + extra, backend, native)
            if isinstance(shared, HyperscanScanner):
                return shared, len(regexes)
        return make_scanner(regexes, backend, native), None

    def _folded(self, text: str) -> tuple[str, bytes | None]:
        """`text` folded and, where the compiled loop's Hyperscan pass reads it, its UTF-8."""
        if self._fold_utf8 is not None:
            return self._fold_utf8(text)
        return self._fold(text), None

    def _pass(self, folded: str, keep_extra: bool = False, data: bytes | None = None) -> _Pass:
        """The compiled loop's scan of `folded` (`data`: its UTF-8, if made): with the encoded-value
        hints and the extra patterns in the same Hyperscan pass where it is shared; the extra
        candidates only with `keep_extra` (a text block, whose caller passes them on)."""
        if self._extra_from is None:
            return _Pass(*self._scanner.candidates(folded, data), None, decoded.hinted(folded))
        assert isinstance(self._scanner, HyperscanScanner)
        (starts, ids), (more_starts, more_ids) = self._scanner.candidates_apart(
            folded, self._extra_from, data
        )
        hints = len(decoded.HINT_PATTERNS)
        pairs = zip(more_starts, more_ids, strict=True)
        hinted = decoded.hinted_at(folded, ((s, i) for s, i in pairs if i < hints))
        extra = None
        if keep_extra and self._shares_extra:
            kept = [k for k, i in enumerate(more_ids) if i >= hints]
            extra = Candidates(folded, [more_starts[k] for k in kept], [more_ids[k] - hints for k in kept])
        return _Pass(starts, ids, extra, hinted)

    # -- text -----------------------------------------------------------------------------
    def scan(self, block: Block) -> list[Finding]:
        return self.scan_block(block)[0]

    def scan_block(self, block: Block) -> tuple[list[Finding], Candidates | None]:
        """`scan`, and in a text block the candidates of the extra patterns (None: a table, or
        extras not shared)."""
        if isinstance(block, TableBlock):
            return self.scan_table(block), None
        return self._scan_text(block.text)

    def scan_text(self, text: str) -> list[Finding]:
        return self._scan_text(text)[0]

    def _scan_text(self, text: str) -> tuple[list[Finding], Candidates | None]:
        folded, data = self._folded(text)
        findings, extra, hinted = self._scan_folded(folded, keep_extra=True, data=data)
        if hinted:
            found = self._decoded_findings(folded, findings)
            if found:
                findings = sorted(findings + found, key=lambda f: f.start)
        return findings, extra

    def _scan_folded(
        self, folded: str, keep_extra: bool = False, data: bytes | None = None
    ) -> tuple[list[Finding], Candidates | None, bool]:
        """Findings, the extra patterns' candidates (if shared) and whether encoded values are hinted;
        `data`: the UTF-8 of `folded`, if made."""
        if self._plan is not None:  # records are line numbers already
            scan = self._pass(folded, keep_extra, data)
            extra, hinted = scan.extra, scan.hinted
            findings = self._plan.findings(folded, scan.starts, scan.ids)
        else:
            extra, hinted = None, decoded.hinted(folded)
            findings = with_line_numbers(folded, self._pattern_findings(folded))
        if self._names is not None:
            is_name = self._validate["CN_NAME"]
            if self._core is not None:
                names = self._core.companion_names(folded, findings, self._direct, is_name, COMPANION_WINDOW)
                findings = self._core.merge_by_start(findings, names)
            else:
                names = companion_names(folded, findings, self._direct, is_name)
                findings = sorted(findings + names, key=lambda f: f.start)
        return findings, extra, hinted

    def _decoded_findings(self, text: str, found: list[Finding]) -> list[Finding]:
        """Findings in decoded views of the encoded stretches of `text` that the text itself did
        not give, at the spans of `text` they were decoded from, with `text`'s line numbers."""
        seen = {(f.entity_type, f.start, f.end) for f in found}
        newlines: list[int] | None = None
        out = []
        for offset, view in decoded.regions(text):
            for f in self._scan_folded(self._fold(view.text))[0]:
                start, end = view.original_span(f.start, f.end)
                start, end = start + offset, end + offset
                if (f.entity_type, start, end) in seen:
                    continue
                if newlines is None:
                    newlines = [m.start() for m in _NEWLINE.finditer(text)]
                out.append(
                    dataclasses.replace(f, start=start, end=end, record=bisect.bisect_left(newlines, start))
                )
        return out

    def _pattern_findings(
        self,
        text: str,
        header_rel: dict[tuple[str, int], int] | None = None,
        cell_of: Callable[[int], tuple[int, int, int]] | None = None,
    ) -> list[Finding]:
        cursor = self._scanner.cursor(text)

        def best_at(start: int, ids: Sequence[int]) -> tuple[Finding, int] | None:
            floor, row, col = cell_of(start) if cell_of is not None else (0, 0, None)
            best: Finding | None = None
            best_end = start
            for idx in ids:
                d, labels, pattern = self._entries[idx]
                if best is not None and best.score >= 1.0 and d.priority < self._priority[best.entity_type]:
                    break  # a lower priority cannot outrank a full score (rank: score, priority, length)
                m = pattern.compiled.match(text, start)
                if m is None:
                    continue
                header = (
                    header_rel.get((d.entity, col), 0) if header_rel is not None and col is not None else 0
                )
                f = evaluate(d, labels, pattern, m, text, floor=floor, header=header, record=row, column=col)
                if f is not None and (
                    best is None or rank(f, d.priority) > rank(best, self._priority[best.entity_type])
                ):
                    best, best_end = f, m.end()
            return None if best is None else (best, best_end)

        return walk(cursor.next_start, best_at)

    # -- tables ---------------------------------------------------------------------------
    def scan_table(self, block: TableBlock) -> list[Finding]:
        form = columns.as_form(block, self._is_label)
        header_row = form is None and self._header_is_data(block.header)
        if form is not None:
            block = form
        elif header_row:  # a sheet without a header row: the row taken for one is the first person
            rows = [tuple(block.header), *block.rows]
            block = TableBlock(
                ("",) * len(block.header), rows, block.location, block.first_row - 1, block.ocr
            )
        block = columns.split_glued(block, self._is_value) or block
        findings = self._scan_table(block)
        if header_row:
            for f in findings:
                f.record -= 1  # rows as the extractor numbered them: the header row is -1
        return findings

    def _header_is_data(self, header: tuple[str, ...]) -> bool:
        """No cell of the header is a label and some cell is a value (a name, an identifier)."""
        cells = [fold(h).strip() for h in header if h.strip()]
        if not cells or any(self._is_label(h) for h in cells):
            return False
        is_name = self._validate["CN_NAME"] if self._names is not None else None
        return any(self._is_value(h) or (is_name is not None and is_name(h) > 0) for h in cells)

    def _is_value(self, text: str) -> bool:
        """Is all of `text` one value of a type with a pattern (not a name or an address)?"""
        return any(
            pattern.fullmatch(text) is not None and validate(normalise(text)) > 0
            for pattern, normalise, validate in self._value_checks
        )

    def _scan_table(self, block: TableBlock) -> list[Finding]:
        width = max(len(block.header), max(map(len, block.rows), default=0))
        header = tuple(block.header) + ("",) * (width - len(block.header))
        header_rel = self._header_relations(header)
        layout = self._layout(block.rows)
        text, data = self._folded(layout.text)
        if self._plan is not None:
            scan = self._pass(text, data=data)
            hinted = scan.hinted
            findings = self._plan.findings(text, scan.starts, scan.ids, header_rel, layout)
        else:
            hinted = decoded.hinted(text)
            findings = self._pattern_findings(text, header_rel, layout.cell_of)
        findings += self._cell_findings(block, header, header_rel, findings, layout)
        if hinted:
            findings += self._decoded_cells(block, findings, layout)
        return findings

    def _header_relations(self, header: tuple[str, ...]) -> dict[tuple[str, int], int]:
        """(type, column) -> header_relation, kept per header: exports of one system repeat theirs in
        every file and block. Callers must not change the dict (`_cell_findings` copies it)."""
        relations = self._relations.get(header)
        if relations is None:
            relations = {
                (d.entity, c): header_relation(self._labels[d.entity], h)
                for d in self.definitions
                for c, h in enumerate(header)
            }
            if len(self._relations) >= HEADERS_KEPT:
                self._relations.clear()
            self._relations[header] = relations
        return relations

    def _decoded_cells(self, block: TableBlock, found: list[Finding], layout: TableLayout) -> list[Finding]:
        """Findings in decoded views of cells that hold encoded values, at their cells' offsets."""
        seen = {(f.entity_type, f.start, f.end) for f in found}
        offsets = iter(layout.starts)
        out = []
        for r, row in enumerate(block.rows):
            for c, cell in enumerate(row):
                at = next(offsets)
                if not decoded.hinted(cell):
                    continue
                for f in self.scan_text(cell.replace("\n", " ")):
                    start, end = at + f.start, at + f.end
                    if (f.entity_type, start, end) not in seen:
                        out.append(dataclasses.replace(f, start=start, end=end, record=r, column=c))
        return out

    def _cell_findings(
        self,
        block: TableBlock,
        header: tuple[str, ...],
        header_rel: dict[tuple[str, int], int],
        findings: list[Finding],
        layout: TableLayout,
    ) -> list[Finding]:
        """Whole cells under a name/address header, validated one by one; name columns are also
        recognised by their content (columns.name_column)."""
        out: list[Finding] = []
        header_rel = dict(header_rel)
        by_content: set[int] = set()  # name columns known from their cells, not their header
        if self._names is not None:
            names = self._names
            name_valid = self._validate[names.entity]

            def name_of(cell: str) -> str | None:  # a whole cell, or a name leading it
                value = cell_value(names, name_valid, cell)
                return value[0] if value is not None else None

            def whole_name(cell: str) -> str | None:
                value = names.normalise(cell)
                return value if name_valid(value) > 0 else None

            near: bool | None = None  # most rows hold a direct identifier; read for headerless columns only
            for c in range(len(header)):
                key = (names.entity, c)
                if header_rel[key] == 0 and near is None:
                    beside = columns.rows_with_identifiers(findings, self._direct)
                    near = len(beside) >= columns.BESIDE_SHARE * max(1, len(block.rows))
                column = (row[c] for row in block.rows if c < len(row))
                named = columns.name_column(
                    column, name_of if header_rel[key] > 0 else whole_name, header_rel[key], bool(near)
                )
                if named and header_rel[key] == 0:
                    by_content.add(c)
                header_rel[key] = 1 if named else min(header_rel[key], 0)
        readable = [
            whole_cell_types({d.entity: header_rel[(d.entity, c)] for d in self.definitions}, self._cell_defs)
            for c in range(len(header))
        ]
        if not any(readable):  # most tables: no name or address column
            return out
        done = self._found_rows(findings, self._cell_types)  # (type, column) -> rows found already
        for d in self._cell_defs:
            validate = self._validate[d.entity]
            for c in (c for c in range(len(header)) if d in readable[c]):
                done_rows = done.get((d.entity, c), set())
                if self._core is not None:
                    confirmed = c not in by_content
                    self._core.column_cells(
                        d,
                        validate,
                        block.rows,
                        c,
                        layout.starts,
                        layout.first_cell,
                        done_rows,
                        confirmed,
                        out,
                    )
                    continue
                for r, row in enumerate(block.rows):
                    if c >= len(row) or r in done_rows:
                        continue
                    f = cell_finding(
                        d,
                        validate,
                        row[c],
                        layout.starts[layout.first_cell[r] + c],
                        r,
                        c,
                        c not in by_content,
                        self._fold,
                    )
                    if f is not None:
                        out.append(f)
        return out
