"""The score chart: a rolling headline score per day, the period before, and answers per day.

Rendered with matplotlib's Agg canvas (no pyplot, no global state) in a worker thread, so the
event loop never waits for it.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot.team.reports.format import format_value, metric_label
from bot.team.scores import question_score
from conversations.questions import Question, QuestionKind
from conversations.survey import Survey
from storage.reports import QuestionAggregate
from storage.store import Store

if TYPE_CHECKING:  # matplotlib is imported when a chart is drawn, not when palaute starts
    from matplotlib.figure import Figure

DAY = timedelta(days=1)
ANSWERS_COLOR = "#cbd5e1"


@dataclass(frozen=True)
class ChartSeries:
    title: str
    label: str
    """The metric on the y axis: NPS, CSAT, CES or a question id."""
    kind: str
    days: tuple[date, ...]
    current: tuple[float | None, ...]
    """The score over the `smooth` days ending on each day (None: too few answers)."""
    previous: tuple[float | None, ...]
    """The same, one period earlier, drawn under the current line for comparison."""
    counts: tuple[int, ...]
    """Answers on each day."""
    scale: tuple[float, float] | None = None
    """The lowest and highest score of a mean (CES, a rating); None for percentages and NPS."""


def _headline_question(survey: Survey) -> Question | None:
    return survey.headline or next(
        (q for q in survey.questions if q.kind is QuestionKind.RATING), None
    )


def _headline(survey: Survey) -> tuple[str, str] | None:
    question = _headline_question(survey)
    return (question.id, question.kind.value) if question else None


def _mean_scale(survey: Survey) -> tuple[float, float] | None:
    question = _headline_question(survey)
    if question is None or question.kind not in (QuestionKind.CES, QuestionKind.RATING):
        return None
    return question.bounds


async def chart_series(
    store: Store,
    survey: Survey,
    title: str,
    *,
    last_day: date,
    timezone: str,
    days: int = 30,
    smooth: int = 7,
    min_n: int = 10,
    filters: Mapping[str, str] | None = None,
) -> ChartSeries | None:
    """The series of one survey's headline question for the `days` local days up to `last_day`."""
    headline = _headline(survey)
    if headline is None:
        return None
    question_id, kind = headline
    zone = ZoneInfo(timezone)
    first_needed = last_day - DAY * (2 * days + smooth)
    start = datetime.combine(first_needed, datetime.min.time(), zone).timestamp()
    end = datetime.combine(last_day + DAY, datetime.min.time(), zone).timestamp()
    per_day: dict[date, dict[int, int]] = {}
    for bucket, value, count in await store.reports.histogram_buckets(
        survey.id, question_id, start, end, filters=filters
    ):
        day = datetime.fromtimestamp(bucket, zone).date()
        histogram = per_day.setdefault(day, {})
        histogram[value] = histogram.get(value, 0) + count

    def rolling(day: date) -> float | None:
        histogram: dict[int, int] = {}
        for offset in range(smooth):
            for value, count in per_day.get(day - DAY * offset, {}).items():
                histogram[value] = histogram.get(value, 0) + count
        score = question_score(QuestionAggregate(question_id, kind, histogram))
        return score.value if score.n >= min_n else None

    shown = tuple(last_day - DAY * offset for offset in range(days - 1, -1, -1))
    return ChartSeries(
        title=title,
        label=metric_label(kind, question_id),
        kind=kind,
        days=shown,
        current=tuple(rolling(day) for day in shown),
        previous=tuple(rolling(day - DAY * days) for day in shown),
        counts=tuple(sum(per_day.get(day, {}).values()) for day in shown),
        scale=_mean_scale(survey),
    )


def _date(day: date) -> str:
    return f"{day.day}.{day.month}."


def _span(first: date, last: date) -> str:
    """The days a line covers, as a reader would write them: "2.11.–1.12.2026"."""
    return f"{_date(first)}–{_date(last)}{last.year}"


def _isolated(values: Sequence[float | None]) -> list[int]:
    """Indexes of values with no value on either side: a line cannot show them."""
    return [
        i
        for i, value in enumerate(values)
        if value is not None
        and (i == 0 or values[i - 1] is None)
        and (i == len(values) - 1 or values[i + 1] is None)
    ]


def _tick_days(days: Sequence[date], plot_width: float) -> list[date]:
    """Every few days back from the last one (always labelled), one label per 0.65 inch at
    most: "29.11." and "1.12." never run into each other, at any window or width."""
    fits = max(2, int(plot_width / 0.65))
    step = max(1, -(-len(days) // fits))
    return sorted(days[-1 - i] for i in range(0, len(days), step))


def _score_limits(data: ChartSeries) -> tuple[float, float] | None:
    """The whole scale, never zoomed to the data: zoomed, noise looks like a trend."""
    if data.kind == "nps":
        return (-100, 100)
    if data.kind in ("csat", "yes_no"):
        return (0, 100)
    return data.scale


def chart_figure(
    series: Sequence[ChartSeries],
    *,
    title: str,
    labels: Mapping[str, str],
    width: float = 9.0,
    dpi: int = 100,
) -> Figure:
    """One panel per survey, `width` inches wide. `labels`: current, previous, answers, empty."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import date2num, num2date
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator

    panels = max(1, len(series))
    # Fixed margins, in inches, that fit the tick labels, both axis labels and the legend
    # under each panel: tight_layout measured every text on the figure first and took a third
    # of the rendering time.
    left, right, top, bottom, panel = 0.75, 0.7, 0.7, 0.15, 2.3
    narrow = width - left - right < 4
    legend = 0.75 if narrow else 0.6
    top += 0.15 if narrow else 0  # room for a title on two lines
    gap = legend + 0.35  # the legend under a panel and the title over the next
    height = top + bottom + legend + panels * panel + (panels - 1) * gap
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    figure.suptitle(
        title, fontsize=12, x=(0.1 if narrow else left) / width, y=1 - 0.1 / height,
        ha="left", va="top", wrap=True,
    )  # fmt: skip
    axes_list = figure.subplots(
        panels,
        1,
        squeeze=False,
        gridspec_kw={
            "left": left / width,
            "right": 1 - right / width,
            "top": 1 - top / height,
            "bottom": (bottom + legend) / height,
            "hspace": gap / panel,
        },
    )[:, 0]
    plot_width = width - left - right
    for axes, data in zip(axes_list, series, strict=False):
        counts_axes = axes.twinx()
        # One line per day rather than bar()'s rectangle patches, each of which matplotlib
        # lays out on its own; 0.8 of a day wide, like a bar.
        day_points = plot_width * 72 / max(1, len(data.days))
        counts_axes.vlines(
            data.days, 0, data.counts, colors=ANSWERS_COLOR, linewidth=0.8 * day_points
        )
        answers = Patch(color=ANSWERS_COLOR)  # the legend's key, not a bar a day wide
        counts_axes.set_ylabel(labels["answers"], color="#64748b", fontsize=8)
        counts_axes.tick_params(axis="y", labelsize=8, colors="#64748b")
        counts_axes.yaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        counts_axes.set_ylim(0, max([*data.counts, 1]) * 3)
        axes.set_zorder(counts_axes.get_zorder() + 1)
        axes.patch.set_visible(False)
        nan = float("nan")
        period = len(data.days)
        first, last = data.days[0], data.days[-1]
        before = (first - DAY * period, last - DAY * period)
        (previous_line,) = axes.plot(
            data.days,
            [nan if v is None else v for v in data.previous],
            color="#94a3b8",
            linestyle="--",
            linewidth=1.5,
        )
        (current_line,) = axes.plot(
            data.days,
            [nan if v is None else v for v in data.current],
            color="#2563eb",
            linewidth=2.2,
            # A dot on each day with answers: a flat stretch after one busy day (an event)
            # shows where its answers came from.
            marker="o",
            markersize=3.5,
            markevery=[i for i, count in enumerate(data.counts) if count],
        )
        lone = _isolated(data.current)
        if lone:
            axes.plot(
                [data.days[i] for i in lone],
                [data.current[i] for i in lone],
                linestyle="none",
                marker="o",
                markersize=7,
                color="#2563eb",
            )
            for i in lone:
                axes.annotate(
                    format_value(data.kind, data.current[i]),
                    (data.days[i], data.current[i] or 0),
                    xytext=(0, 8),
                    textcoords="offset points",
                    ha="center",
                    fontsize=9,
                    color="#1e3a8a",
                )
        axes.set_title(data.title, fontsize=10, loc="left")
        axes.set_ylabel(data.label)
        axes.grid(axis="y", color="#e2e8f0")
        axes.set_xlim(first - DAY, last + DAY)
        axes.xaxis.set_major_locator(FixedLocator(date2num(_tick_days(data.days, plot_width))))
        axes.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: _date(num2date(x).date())))
        axes.tick_params(axis="x", labelsize=8)
        axes.legend(
            [current_line, previous_line, answers],
            [
                f"{labels['current']} ({_span(first, last)})",
                f"{labels['previous']} ({_span(*before)})",
                labels["answers"],
            ],
            loc="upper left",
            bbox_to_anchor=(0, -0.1),
            ncol=1 if narrow else 2,
            fontsize=8,
            frameon=False,
        )
        limits = _score_limits(data)
        if limits is not None:
            axes.set_ylim(*limits)
        if data.kind == "nps":
            axes.axhline(0, color="#94a3b8", linewidth=0.8)
    if not series:
        axes_list[0].text(0.5, 0.5, labels.get("empty", ""), ha="center", va="center")
        axes_list[0].set_axis_off()
    return figure


def render_chart(
    series: Sequence[ChartSeries],
    *,
    title: str,
    labels: Mapping[str, str],
    width: float = 9.0,
    dpi: int = 100,
) -> bytes:
    """A PNG `width` × `dpi` px wide, one panel per survey."""
    figure = chart_figure(series, title=title, labels=labels, width=width, dpi=dpi)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def chart_png(
    series: Sequence[ChartSeries],
    *,
    title: str,
    labels: Mapping[str, str],
    width: float = 9.0,
    dpi: int = 100,
) -> bytes:
    return await asyncio.to_thread(
        render_chart, series, title=title, labels=labels, width=width, dpi=dpi
    )
