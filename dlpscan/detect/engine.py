"""The fast engine: one compiled scanner over whole blocks, validators only on candidates.

Cost is linear in the input: the scanner proposes candidate starts, each confirmed by its exact
pattern, scored (scoring.evaluate) and resolved so that spans never overlap.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable

from dlpscan.detect import columns
from dlpscan.detect import compiled as compiled_core
from dlpscan.detect.backends import make_scanner
from dlpscan.detect.decide import rank, whole_cell_types
from dlpscan.detect.evidence import COMPANION_WINDOW, cell_finding, companion_names, with_line_numbers
from dlpscan.detect.registry import PatternDef, RecognizerDef, label_words, load_definitions
from dlpscan.detect.scoring import Finding, Labels, evaluate, header_relation
from dlpscan.detect.text import fold
from dlpscan.model import Block, TableBlock

_CELL_SEP = "\x1f"


class Engine:
    """Detect entities in blocks of text or table rows with all definitions at once."""

    def __init__(
        self,
        definitions: Iterable[RecognizerDef] | None = None,
        backend: str = "auto",
        compiled: bool | None = None,
    ) -> None:
        """`compiled`: None uses the compiled candidate loop when it is built (and DLPSCAN_PURE_PYTHON
        is not set); False forces the pure-Python reference loop; True requires the compiled one."""
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
        self._scanner = make_scanner([p.scan_regex for _, _, p in self._entries], backend)
        self.backend = self._scanner.name
        self._cell_defs = [d for d in self.definitions if d.cell_detector]
        self._names = next((d for d in self.definitions if d.entity == "CN_NAME"), None)
        ascii_headers = frozenset(w for d in self.definitions for w in d.headers if w.isascii())
        self._is_label = columns.LabelCells(self._labels, ascii_headers)
        self._core = compiled_core.core(compiled)
        self._plan = self._core.Plan(self._entries) if self._core is not None else None
        self.compiled = self._plan is not None

    # -- text -----------------------------------------------------------------------------
    def scan(self, block: Block) -> list[Finding]:
        return self.scan_table(block) if isinstance(block, TableBlock) else self.scan_text(block.text)

    def scan_text(self, text: str) -> list[Finding]:
        folded = fold(text)
        if self._plan is not None:  # records are line numbers already
            findings = self._plan.findings(folded, *self._scanner.candidates(folded))
        else:
            findings = with_line_numbers(folded, self._pattern_findings(folded))
        if self._names is not None:
            is_name = self._labels["CN_NAME"].validate
            if self._core is not None:
                names = self._core.companion_names(folded, findings, self._direct, is_name, COMPANION_WINDOW)
            else:
                names = companion_names(folded, findings, self._direct, is_name)
            findings = sorted(findings + names, key=lambda f: f.start)
        return findings

    def _pattern_findings(
        self,
        text: str,
        header_rel: dict[tuple[str, int], int] | None = None,
        cell_of: Callable[[int], tuple[int, int, int]] | None = None,
    ) -> list[Finding]:
        found: list[Finding] = []
        cursor = self._scanner.cursor(text)
        pos = 0
        while (hit := cursor.next_start(pos)) is not None:
            start, ids = hit
            floor, row, col = 0, 0, None
            if cell_of is not None:
                floor, row, col = cell_of(start)
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
            if best is not None:
                found.append(best)
                pos = max(best_end, start + 1)
            else:
                pos = start + 1
        return found

    # -- tables ---------------------------------------------------------------------------
    def scan_table(self, block: TableBlock) -> list[Finding]:
        form = columns.as_form(block, self._is_label)
        return self._scan_table(form if form is not None else block)

    def _scan_table(self, block: TableBlock) -> list[Finding]:
        width = max([len(block.header), *(len(r) for r in block.rows)], default=0)
        header = tuple(block.header) + ("",) * (width - len(block.header))
        header_rel = {
            (d.entity, c): header_relation(self._labels[d.entity], h)
            for d in self.definitions
            for c, h in enumerate(header)
        }
        cell_starts: list[int] = []
        cell_pos: list[tuple[int, int, int]] = []  # (row start, row, column) per cell
        lines: list[str] = []
        offset = 0
        for r, row in enumerate(block.rows):
            row_start = offset
            for c, cell in enumerate(row):
                cell_starts.append(offset)
                cell_pos.append((row_start, r, c))
                offset += len(cell) + 1
            line = _CELL_SEP.join(row)
            if "\n" in line:
                line = line.replace("\n", " ")
            lines.append(line)
            offset = row_start + len(line) + 1
        text = fold("\n".join(lines))

        def cell_of(pos: int) -> tuple[int, int, int]:
            i = bisect.bisect_right(cell_starts, pos) - 1
            return cell_pos[i] if i >= 0 else (0, 0, 0)

        if self._plan is not None:
            starts, ids = self._scanner.candidates(text)
            findings = self._plan.findings(text, starts, ids, header_rel, cell_starts, cell_pos)
        else:
            findings = self._pattern_findings(text, header_rel, cell_of)
        findings += self._cell_findings(block, header, header_rel, findings, cell_starts)
        return findings

    def _cell_findings(
        self,
        block: TableBlock,
        header: tuple[str, ...],
        header_rel: dict[tuple[str, int], int],
        findings: list[Finding],
        cell_starts: list[int],
    ) -> list[Finding]:
        """Whole cells under a name/address header, validated one by one; name columns are also
        recognised by their content (columns.name_column)."""
        out: list[Finding] = []
        header_rel = dict(header_rel)
        by_content: set[int] = set()  # name columns known from their cells, not their header
        if self._names is not None:
            names = self._names
            name_valid = self._labels[names.entity].validate

            def is_name(cell: str) -> float:
                return name_valid(names.normalise(cell))

            beside = columns.rows_with_identifiers(findings, self._direct)
            near = len(beside) >= columns.BESIDE_SHARE * max(1, len(block.rows))
            for c in range(len(header)):
                key = (names.entity, c)
                column = (row[c] for row in block.rows if c < len(row))
                named = columns.name_column(column, is_name, header_rel[key], near)
                if named and header_rel[key] == 0:
                    by_content.add(c)
                header_rel[key] = 1 if named else min(header_rel[key], 0)
        done = {(f.entity_type, f.record, f.column) for f in findings}
        offsets = iter(cell_starts)
        starts: dict[tuple[int, int], int] = {}
        for r, row in enumerate(block.rows):
            for c in range(len(row)):
                starts[(r, c)] = next(offsets)
        readable = [
            whole_cell_types({d.entity: header_rel[(d.entity, c)] for d in self.definitions}, self._cell_defs)
            for c in range(len(header))
        ]
        for d in self._cell_defs:
            validate = self._labels[d.entity].validate
            for c in (c for c in range(len(header)) if d in readable[c]):
                for r, row in enumerate(block.rows):
                    if c >= len(row) or (d.entity, r, c) in done:
                        continue
                    f = cell_finding(d, validate, row[c], starts[(r, c)], r, c, c not in by_content)
                    if f is not None:
                        out.append(f)
        return out
