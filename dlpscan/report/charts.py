"""Charts rendered server-side with matplotlib to inline SVG (text as paths: no font needed to view).

Uses the object API (no pyplot, no global state). Chinese labels need a CJK font: Noto Sans CJK
(Debian fonts-noto-cjk) or another one found by matplotlib's font manager; without one the charts
are still drawn and CJK characters show as boxes.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from pathlib import Path

import matplotlib
from matplotlib import font_manager
from matplotlib.figure import Figure

log = logging.getLogger(__name__)

SEVERITY_COLOURS = {"critical": "#7f1d1d", "high": "#dc2626", "medium": "#f59e0b", "low": "#60a5fa"}
ACCESS_COLOURS = {
    "public": "#7f1d1d",
    "organisation": "#dc2626",
    "group": "#f59e0b",
    "owner": "#60a5fa",
    "unknown": "#94a3b8",
}
BAR = "#334155"
LINE = "#0f766e"
CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "PingFang SC",
    "SimHei",
    "Droid Sans Fallback",
    "AR PL UMing CN",
)
CJK_FILE_HINTS = ("cjk", "wqy", "sourcehan", "droidsansfallback", "uming", "ukai")
LABEL_CHARS = 42


@cache
def cjk_font() -> str | None:
    """A CJK font family matplotlib can use, or None (fonts added after matplotlib built its cache
    are picked up from the system font folders)."""
    found = _known_family()
    if found is None:
        for path in font_manager.findSystemFonts():
            if any(h in Path(path).name.lower() for h in CJK_FILE_HINTS):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        found = _known_family()
    if found is None:
        log.warning("no CJK font found for charts; install fonts-noto-cjk for Chinese labels")
    return found


def _known_family() -> str | None:
    names = {f.name for f in font_manager.fontManager.ttflist}
    return next((f for f in CJK_FAMILIES if f in names), None)


def _render(name: str, draw: Callable[[Figure], None], size: tuple[float, float]) -> str:
    """Draw on a fresh figure and return the <svg> element (no XML prolog, ids unique per chart)."""
    family = [f for f in (cjk_font(), "DejaVu Sans") if f]
    rc = {
        "font.family": "sans-serif",
        "font.sans-serif": family,
        "font.size": 9,
        "svg.fonttype": "path",
        "svg.hashsalt": name,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # missing glyphs without a CJK font
        fig = Figure(figsize=size, layout="constrained")
        draw(fig)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    return svg[svg.index("<svg") :].replace("<svg ", f'<svg class="chart" id="chart-{name}" ', 1)


def severity_chart(counts: Mapping[str, int], label: Callable[[str], str], xlabel: str) -> str:
    """Horizontal bars: flagged files per severity, critical on top."""
    return _ranked_bars("severity", counts, SEVERITY_COLOURS, label, xlabel)


def access_chart(counts: Mapping[str, int], label: Callable[[str], str], xlabel: str) -> str:
    """Horizontal bars: flagged files per exposure level (who can read them), widest on top."""
    return _ranked_bars("access", counts, ACCESS_COLOURS, label, xlabel)


def _ranked_bars(
    name: str, counts: Mapping[str, int], colours: Mapping[str, str], label: Callable[[str], str], xlabel: str
) -> str:
    """Horizontal bars in the order of `colours` (first on top), for the keys with a count."""
    order = [key for key in colours if counts.get(key)]

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        values = [counts[key] for key in order]
        bars = ax.barh([label(key) for key in order], values, color=[colours[key] for key in order])
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.margins(x=0.15)
        ax.xaxis.get_major_locator().set_params(integer=True)

    return _render(name, draw, (5.2, 0.45 * len(order) + 0.9))


def exposure_chart(name: str, keys: Sequence[str], people: Sequence[int], xlabel: str) -> str:
    """Horizontal bars of distinct people for up to ten folders or owners, most exposed on top."""

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        bars = ax.barh([shorten(k) for k in keys], people, color=BAR)
        ax.bar_label(bars, labels=[f"{p:,}" for p in people], padding=3)
        ax.invert_yaxis()
        ax.set_xlabel(xlabel)
        ax.margins(x=0.15)
        ax.xaxis.get_major_locator().set_params(integer=True)

    return _render(name, draw, (7.2, 0.32 * len(keys) + 0.9))


def trend_chart(
    labels: Sequence[str],
    by_severity: Sequence[Mapping[str, int]],
    people: Sequence[int | None],
    severity_label: Callable[[str], str],
    flagged_label: str,
    people_label: str,
) -> str:
    """Per scan: flagged files stacked by severity (bars, left axis), distinct people (line, right)."""

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        x = list(range(len(labels)))
        bottom = [0] * len(labels)
        for sev in reversed(SEVERITY_COLOURS):
            heights = [counts.get(sev, 0) for counts in by_severity]
            if any(heights):
                ax.bar(
                    x,
                    heights,
                    bottom=bottom,
                    color=SEVERITY_COLOURS[sev],
                    label=severity_label(sev),
                    width=0.6,
                )
                bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        ax.set_xticks(x, labels)
        ax.set_ylabel(flagged_label)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_xlim(-0.6, len(labels) - 0.4)
        right = ax.twinx()
        right.spines["right"].set_visible(True)
        right.plot(x, [p or 0 for p in people], color=LINE, marker="o", linewidth=2, label=people_label)
        right.set_ylabel(people_label, color=LINE)
        right.set_ylim(bottom=0)
        right.yaxis.get_major_locator().set_params(integer=True)
        bars, names = ax.get_legend_handles_labels()  # drawn lowest severity first: list critical first
        line, line_name = right.get_legend_handles_labels()
        ax.legend(bars[::-1] + line, names[::-1] + line_name, loc="upper left", fontsize=8, frameon=False)
        ax.set_ylim(top=max(max(bottom, default=0), 1) * 1.35)
        right.set_ylim(top=max(max((p or 0 for p in people), default=0), 1) * 1.2)

    return _render("trend", draw, (7.2, 3.0))


def shorten(text: str, limit: int = LABEL_CHARS) -> str:
    """Keep the end of long paths (the most specific part): '…/ops/exports'."""
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
