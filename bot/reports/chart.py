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
from zoneinfo import ZoneInfo

from bot.reports.format import metric_label
from bot.scores import question_score
from conversations.questions import QuestionKind
from conversations.survey import Survey
from storage.reports import QuestionAggregate
from storage.store import Store

DAY = timedelta(days=1)


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


def _headline(survey: Survey) -> tuple[str, str] | None:
    question = survey.headline or next(
        (q for q in survey.questions if q.kind is QuestionKind.RATING), None
    )
    return (question.id, question.kind.value) if question else None


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
    )


def render_chart(
    series: Sequence[ChartSeries],
    *,
    title: str,
    labels: Mapping[str, str],
    width: float = 9.0,
    dpi: int = 100,
) -> bytes:
    """A PNG `width` × 100 px wide, one panel per survey. `labels`: current, previous, answers."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import DateFormatter
    from matplotlib.figure import Figure

    panels = max(1, len(series))
    height = 1.2 + 2.6 * panels
    figure = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(figure)
    figure.suptitle(title, fontsize=13)
    # Fixed margins, in inches, that fit the tick labels and both axis labels: tight_layout
    # measured every text on the figure first and took a third of the rendering time.
    left, right, top, bottom, gap = 0.85, 0.75, 0.7, 0.45, 0.6
    axes_list = figure.subplots(
        panels,
        1,
        squeeze=False,
        gridspec_kw={
            "left": left / width,
            "right": 1 - right / width,
            "top": 1 - top / height,
            "bottom": bottom / height,
            "hspace": gap / ((height - top - bottom - gap * (panels - 1)) / panels),
        },
    )[:, 0]
    for axes, data in zip(axes_list, series, strict=False):
        counts_axes = axes.twinx()
        # One line per day rather than bar()'s rectangle patches, each of which matplotlib
        # lays out on its own; 0.8 of a day wide, like a bar.
        day_points = (width - left - right) * 72 / max(1, len(data.days))
        counts_axes.vlines(
            data.days,
            0,
            data.counts,
            colors="#cbd5e1",
            linewidth=0.8 * day_points,
            label=labels["answers"],
        )
        counts_axes.set_ylabel(labels["answers"], color="#64748b", fontsize=8)
        counts_axes.tick_params(axis="y", labelsize=8, colors="#64748b")
        counts_axes.set_ylim(0, max([*data.counts, 1]) * 3)
        axes.set_zorder(counts_axes.get_zorder() + 1)
        axes.patch.set_visible(False)
        nan = float("nan")
        axes.plot(
            data.days,
            [nan if v is None else v for v in data.previous],
            color="#94a3b8",
            linestyle="--",
            linewidth=1.5,
            label=labels["previous"],
        )
        axes.plot(
            data.days,
            [nan if v is None else v for v in data.current],
            color="#2563eb",
            linewidth=2.2,
            marker="o",
            markersize=2.5,
            label=labels["current"],
        )
        axes.set_title(data.title, fontsize=10, loc="left")
        axes.set_ylabel(data.label)
        axes.grid(axis="y", color="#e2e8f0")
        axes.xaxis.set_major_formatter(DateFormatter("%d.%m."))
        axes.tick_params(axis="x", labelsize=8)
        axes.legend(loc="upper left", fontsize=8, frameon=False)
        if data.kind == "nps":
            axes.set_ylim(-100, 100)
            axes.axhline(0, color="#94a3b8", linewidth=0.8)
        elif data.kind in ("csat", "yes_no"):
            axes.set_ylim(0, 100)
    if not series:
        axes_list[0].text(0.5, 0.5, labels.get("empty", ""), ha="center", va="center")
        axes_list[0].set_axis_off()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


async def chart_png(
    series: Sequence[ChartSeries], *, title: str, labels: Mapping[str, str], width: float = 9.0
) -> bytes:
    return await asyncio.to_thread(render_chart, series, title=title, labels=labels, width=width)
