"""HTML (one self-contained file) and PDF (WeasyPrint, from the same HTML) from ReportData."""

from __future__ import annotations

import logging
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from fractions import Fraction
from functools import cache
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

from dlpscan import __version__
from dlpscan.policy import SEVERITY_ORDER

from . import charts
from .collect import FileRow, GroupRow, ReportData
from .i18n import translator
from .legal import LEVELS, Grader, Note, note_text

log = logging.getLogger(__name__)

TOP_CHART = 10
THIRD_PARTY_LOGGERS = ("weasyprint", "fontTools")
PDF_ROWS = 500  # default cap of the per-file tables in the PDF
GROUP_ROWS = 100  # folders / owners with hits listed per table


@cache
def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("dlpscan.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, when=_when, day=_day, size=_size, ratio=_ratio, wbr=_wbr)
    return env


def render_html(
    data: ReportData, lang: str = "en", *, for_pdf: bool = False, max_rows: int | None = None
) -> str:
    """The report page. `for_pdf` drops the interactive filter; `max_rows` caps the per-file tables
    (the most severe first) and says so under each capped table."""
    t = translator(lang)
    folders, owners = _listed(data.folders), _listed(data.owners)

    def type_label(etype: str) -> str:
        return data.types.of(etype).label(lang)

    def cat_label(name: str) -> str:
        """A grading term: a legal data category's own label, else the policy term's."""
        known = data.categories.get(name)
        return known.label(lang) if known is not None else t(f"cat.{name}")

    def is_disputed(name: str) -> bool:
        known = data.categories.get(name)
        return known is not None and bool(known.disputed)

    return (
        _environment()
        .get_template("report.html.j2")
        .render(
            d=data,
            t=t,
            lang=lang,
            pdf=for_pdf,
            limit=max_rows,
            version=__version__,
            note=lambda n: note_text(n, lang),
            type_label=type_label,
            cat_label=cat_label,
            is_disputed=is_disputed,
            sev=lambda s: t(f"sev.{s}"),
            charts=_charts(data, t),
            severities=[s for s in reversed(SEVERITY_ORDER) if s != "none"],
            folders=folders,
            owners=owners,
            changes=_changes(data),
            tz=datetime.now().astimezone().strftime("UTC%z"),
            rules_text=_rules_text,
            judicial_categories=Grader(data.judicial).categories,
            legend=_legend(data, folders[0] + owners[0]),
            group_of=lambda key: Note(key).group,
            levels=[*LEVELS, (0.1, "tenth")],
        )
    )


def write_pdf(data: ReportData, output: Path, lang: str = "en", max_rows: int | None = PDF_ROWS) -> None:
    """The same page as the HTML, laid out for A4 by WeasyPrint (fonts from fontconfig).

    WeasyPrint lays out some 20-40 table rows a second, so per-file tables are capped at
    `max_rows` (None: no cap); every file is still counted in the summary, the charts and the
    folder and owner totals.
    """
    from weasyprint import HTML  # slow to import; only the PDF needs it

    if cjk_font_missing():
        log.warning(
            "no Chinese (CJK) font found by fontconfig: Chinese text in the PDF shows as boxes; "
            "install one (Debian: apt-get install fonts-noto-cjk)"
        )
    page = render_html(data, lang, for_pdf=True, max_rows=max_rows)
    with _only_errors(THIRD_PARTY_LOGGERS):
        HTML(string=page, base_url=None).write_pdf(output)


@contextmanager
def _only_errors(names: tuple[str, ...]) -> Iterator[None]:
    """WeasyPrint warns about every SVG presentation attribute and repeated chart id it skips
    (hundreds per report, none of which changes the PDF); its errors still show."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def cjk_font_missing() -> bool:
    """fontconfig knows no font with Chinese glyphs (False when fontconfig cannot be asked)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        found = subprocess.run([fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return found.returncode == 0 and not found.stdout.strip()


def _charts(data: ReportData, t) -> dict[str, Markup]:
    out: dict[str, Markup] = {}
    if data.severity_counts:
        out["severity"] = Markup(
            charts.severity_chart(data.severity_counts, lambda s: t(f"sev.{s}"), t("chart.flagged_files"))
        )
    for name, groups in (("folders", data.folders), ("owners", data.owners)):
        top = [g for g in groups if g.people][:TOP_CHART]
        if top:
            keys = [data.display_path(g.key) if name == "folders" else g.key for g in top]
            out[name] = Markup(charts.exposure_chart(name, keys, [g.people for g in top], t("chart.people")))
    if data.history:
        out["trend"] = Markup(
            charts.trend_chart(
                [f"#{h['scan_id']}\n{_day(h['started'])}" for h in data.history],
                [h["flagged_by_severity"] for h in data.history],
                [h["people"] for h in data.history],
                lambda s: t(f"sev.{s}"),
                t("chart.flagged_files"),
                t("chart.people"),
            )
        )
    return out


def _listed(groups: list[GroupRow]) -> tuple[list[GroupRow], int]:
    """Groups with a rule hit or ⅒ of serious (at most GROUP_ROWS), and how many others exist."""
    listed = [g for g in groups if g.listed]
    return listed[:GROUP_ROWS], len(groups) - min(len(listed), GROUP_ROWS)


def _legend(data: ReportData, groups: list[GroupRow]) -> list[str]:
    """The note keys used in the legal tables, by column (first seen first within a column)."""
    notes = {n.key: n for row in (*data.findings, *groups) for n in row.notes}
    order = ("pipl", "gbt", "sector")
    return sorted(notes, key=lambda k: order.index(notes[k].group))


def _changes(data: ReportData) -> list[tuple[str, int | None, int | None, bool]]:
    """(label key, previous, current, whether a rise is bad) rows of the change table."""
    prev, cur = data.previous, data.current
    if prev is None:
        return []
    rows = [
        ("sum.items", prev["files"], cur["files"], False),
        ("sum.flagged_recorded", prev["flagged"], cur["flagged"], True),
    ]
    for sev in ("critical", "high", "medium", "low"):
        a, b = prev["flagged_by_severity"].get(sev, 0), cur["flagged_by_severity"].get(sev, 0)
        if a or b:
            rows.append((f"sev.{sev}", a, b, True))
    rows += [
        ("sum.records", prev["records"], cur["records"], True),
        ("sum.people", prev["people"], cur["people"], True),
    ]
    return rows


def _rules_text(row: FileRow | GroupRow) -> str:
    hits = row.rules if isinstance(row, FileRow) else row.hits
    return ", ".join(h.rule for h in hits if h.severity != "low") or ", ".join(h.rule for h in hits)


def _wbr(path: str) -> Markup:
    """Escaped path with line-break opportunities after separators (long paths wrap at folders)."""
    escaped = str(escape(path))
    for sep in ("/", "!", "\\"):
        escaped = escaped.replace(sep, sep + "<wbr>")
    return Markup(escaped)


def _num(value: int | float | None) -> str:
    return "–" if value is None else f"{value:,}"


def _when(ts: float | None) -> str:
    return "–" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def _day(ts: float | None) -> str:
    return "–" if ts is None else time.strftime("%Y-%m-%d", time.localtime(ts))


def _size(n: int | None) -> str:
    if n is None:
        return "–"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{n} B"


def _ratio(value: Fraction) -> str:
    """Two decimals rounded down, so a sum just under 1 never shows as 1.00."""
    hundredths = value * 100 // 1
    return f"{hundredths / 100:,.2f}"
