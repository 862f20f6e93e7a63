"""The fast engine: one compiled scanner over whole blocks, validators only on candidates.

Cost is linear in the input: the scanner proposes candidate starts, each confirmed by its exact
pattern, scored (scoring.evaluate) and resolved so that spans never overlap.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable

from dlpscan.detect.backends import make_scanner
from dlpscan.detect.registry import PatternDef, RecognizerDef, load_definitions
from dlpscan.detect.scoring import Finding, Labels, evaluate, header_relation
from dlpscan.detect.text import fold
from dlpscan.detect.validators import cn_name
from dlpscan.model import Block, TableBlock

_CELL_SEP = "\x1f"
_HAN_TOKEN = re.compile(r"(?<![\u4e00-\u9fff·])[\u4e00-\u9fff]{2,4}(?![\u4e00-\u9fff·])")


def _rank(f: Finding, priority: int) -> tuple[float, int, int]:
    return (round(f.score, 6), priority, f.end - f.start)


class Engine:
    """Detect entities in blocks of text or table rows with all definitions at once."""

    def __init__(self, definitions: Iterable[RecognizerDef] | None = None, backend: str = "auto") -> None:
        self.definitions = tuple(definitions if definitions is not None else load_definitions())
        self._entries: list[tuple[RecognizerDef, Labels, PatternDef]] = []
        self._labels = {d.entity: Labels.of(d) for d in self.definitions}
        for d in self.definitions:
            for p in d.patterns:
                self._entries.append((d, self._labels[d.entity], p))
        self._priority = {d.entity: d.priority for d in self.definitions}
        self._direct = frozenset(d.entity for d in self.definitions if d.direct_identifier)
        self._scanner = make_scanner([p.scan_regex for _, _, p in self._entries], backend)
        self.backend = self._scanner.name
        self._cell_defs = [d for d in self.definitions if d.cell_detector]
        self._names = next((d for d in self.definitions if d.entity == "CN_NAME"), None)

    # -- text -----------------------------------------------------------------------------
    def scan(self, block: Block) -> list[Finding]:
        return self.scan_table(block) if isinstance(block, TableBlock) else self.scan_text(block.text)

    def scan_text(self, text: str) -> list[Finding]:
        folded = fold(text)
        findings = self._pattern_findings(folded)
        findings = self._with_line_numbers(folded, findings)
        if self._names is not None:
            findings = self._add_companion_names(folded, findings)
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
                m = pattern.compiled.match(text, start)
                if m is None:
                    continue
                header = (
                    header_rel.get((d.entity, col), 0) if header_rel is not None and col is not None else 0
                )
                f = evaluate(d, labels, pattern, m, text, floor=floor, header=header, record=row, column=col)
                if f is not None and (
                    best is None or _rank(f, d.priority) > _rank(best, self._priority[best.entity_type])
                ):
                    best, best_end = f, m.end()
            if best is not None:
                found.append(best)
                pos = max(best_end, start + 1)
            else:
                pos = start + 1
        return found

    @staticmethod
    def _with_line_numbers(text: str, findings: list[Finding]) -> list[Finding]:
        out: list[Finding] = []
        line, last = 0, 0
        for f in findings:
            line += text.count("\n", last, f.start)
            last = f.start
            out.append(_replace_record(f, line))
        return out

    def _add_companion_names(self, text: str, findings: list[Finding]) -> list[Finding]:
        """Surname-led 2-4 character tokens on a line that also holds a direct identifier."""
        anchor_lines = {f.record for f in findings if f.entity_type in self._direct and not f.masked}
        if not anchor_lines:
            return findings
        taken: dict[int, list[tuple[int, int]]] = {}
        for f in findings:
            if f.record in anchor_lines:
                taken.setdefault(f.record, []).append((f.start, f.end))
        extra: list[Finding] = []
        line_starts = _line_starts(text, anchor_lines)
        for line, lo in line_starts.items():
            hi = text.find("\n", lo)
            hi = len(text) if hi < 0 else hi
            spans = taken[line]
            for m in _HAN_TOKEN.finditer(text, lo, hi):
                if any(s < m.end() and m.start() < e for s, e in spans):
                    continue
                if cn_name(m.group()) > 0:
                    extra.append(Finding("CN_NAME", m.group(), m.start(), m.end(), 0.6, record=line))
        return sorted(findings + extra, key=lambda f: f.start)

    # -- tables ---------------------------------------------------------------------------
    def scan_table(self, block: TableBlock) -> list[Finding]:
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
        """Whole cells under a name/address header, validated one by one."""
        out: list[Finding] = []
        done = {(f.entity_type, f.record, f.column) for f in findings}
        offsets = iter(cell_starts)
        starts: dict[tuple[int, int], int] = {}
        for r, row in enumerate(block.rows):
            for c in range(len(row)):
                starts[(r, c)] = next(offsets)
        for d in self._cell_defs:
            columns = [
                c
                for c in range(len(header))
                if header_rel[(d.entity, c)] > 0
                and not any(header_rel[(o.entity, c)] > 0 for o in self.definitions if o.entity != d.entity)
            ]
            for c in columns:
                for r, row in enumerate(block.rows):
                    if c >= len(row) or (d.entity, r, c) in done:
                        continue
                    cell = fold(row[c]).strip()
                    if not cell:
                        continue
                    start = starts[(r, c)]
                    if "*" in cell:
                        if len(cell) <= 40:
                            out.append(
                                Finding(
                                    d.entity,
                                    cell,
                                    start,
                                    start + len(cell),
                                    0.8,
                                    masked=True,
                                    record=r,
                                    column=c,
                                )
                            )
                        continue
                    value = d.normalise(cell)
                    if d.validate_value(value) > 0:
                        out.append(
                            Finding(d.entity, value, start, start + len(cell), 0.9, record=r, column=c)
                        )
        return out


def _replace_record(f: Finding, record: int) -> Finding:
    return Finding(
        f.entity_type,
        f.value,
        f.start,
        f.end,
        f.score,
        f.masked,
        f.damaged,
        f.hidden_digits,
        record,
        f.column,
    )


def _line_starts(text: str, lines: set[int]) -> dict[int, int]:
    """Offsets where the given (0-based) line numbers start."""
    out: dict[int, int] = {}
    wanted = sorted(lines)
    line, pos = 0, 0
    for target in wanted:
        while line < target:
            nxt = text.find("\n", pos)
            if nxt < 0:
                return out
            pos, line = nxt + 1, line + 1
        out[target] = pos
    return out
