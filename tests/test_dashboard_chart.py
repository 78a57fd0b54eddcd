"""The score chart as a reader sees it: what it says it shows, readable dates, an honest scale."""

from __future__ import annotations

import io
from datetime import date, timedelta
from itertools import combinations

from matplotlib.figure import Figure
from matplotlib.text import Text
from PIL import Image

from bot.http.dashboard import CHART_WIDTH, PHONE_CHART_DPI, PHONE_CHART_WIDTH
from bot.team.reports.chart import ChartSeries, chart_figure, render_chart

LAST_DAY = date(2026, 12, 1)
LABELS = {
    "current": "last 30 days",
    "previous": "the 30 days before",
    "answers": "answers per day",
    "empty": "No answers yet",
}
TITLE = "Score of the 7 days up to each day"


def _days(n: int = 30) -> tuple[date, ...]:
    return tuple(LAST_DAY - timedelta(days=offset) for offset in range(n - 1, -1, -1))


def _series(
    current: list[float | None],
    *,
    kind: str = "rating",
    label: str = "during",
    scale: tuple[float, float] | None = (1, 5),
) -> ChartSeries:
    days = _days(len(current))
    return ChartSeries(
        title="Event feedback",
        label=label,
        kind=kind,
        days=days,
        current=tuple(current),
        previous=tuple(None if v is None else v - 0.1 for v in current),
        counts=tuple(0 if v is None else 12 for v in current),
        scale=scale,
    )


def _drawn(series: list[ChartSeries], width: float = CHART_WIDTH, dpi: int = 100) -> Figure:
    figure = chart_figure(series, title=TITLE, labels=LABELS, width=width, dpi=dpi)
    figure.canvas.draw()
    return figure


def _texts(figure: Figure) -> list[str]:
    return [t.get_text() for t in figure.findobj(Text) if t.get_visible() and t.get_text()]


def test_a_one_to_five_scale_is_drawn_from_one_to_five() -> None:
    wobbling = [3.4 + (0.2 if day % 2 else 0.0) for day in range(30)]
    figure = _drawn([_series(wobbling)])
    score_axes = figure.axes[0]
    assert score_axes.get_ylim() == (1, 5)  # not 3.35–3.65: noise must not look like a trend
    ces = _drawn([_series([5.1] * 30, kind="ces", label="CES", scale=(1, 7))])
    assert ces.axes[0].get_ylim() == (1, 7)
    nps = _drawn([_series([30.0] * 30, kind="nps", label="NPS", scale=None)])
    assert nps.axes[0].get_ylim() == (-100, 100)


def test_the_chart_says_which_days_it_shows() -> None:
    figure = _drawn([_series([4.0] * 30)])
    texts = _texts(figure)
    assert TITLE in texts
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    # The dates each line covers, not just "last 30 days / the 30 days before".
    assert legend[0] == "last 30 days (2.11.–1.12.2026)"
    assert legend[1] == "the 30 days before (3.10.–1.11.2026)"


def test_date_labels_never_overlap_on_a_phone_the_dashboard_or_a_report() -> None:
    for width, dpi in ((PHONE_CHART_WIDTH, PHONE_CHART_DPI), (CHART_WIDTH, 100), (9.0, 100)):
        for days in (7, 30, 90):
            figure = _drawn([_series([4.0] * days)], width=width, dpi=dpi)
            renderer = figure.canvas.get_renderer()  # type: ignore[attr-defined]
            labels = [
                label
                for label in figure.axes[0].get_xticklabels()
                if label.get_visible() and label.get_text()
            ]
            assert len(labels) >= 2, (width, days)
            boxes = [label.get_window_extent(renderer) for label in labels]
            for first, second in combinations(boxes, 2):
                # a little air between labels, as a reader needs
                assert first.x1 + 4 < second.x0 or second.x1 + 4 < first.x0, (
                    width, days, [label.get_text() for label in labels],
                )  # fmt: skip
            assert all(box.x0 >= 0 and box.x1 <= figure.bbox.width for box in boxes)


def test_a_single_day_of_answers_is_a_marked_value_not_a_lone_dot() -> None:
    only_one = [None] * 29 + [4.4]
    figure = _drawn([_series(only_one)])
    texts = _texts(figure)
    assert "4.4" in texts  # the value written beside it
    score_axes = figure.axes[0]
    big_marks = [
        line for line in score_axes.get_lines() if line.get_marker() not in (None, "None", "")
        and line.get_markersize() >= 6
    ]  # fmt: skip
    assert big_marks, "an isolated value needs a marker one can see"


def test_the_png_is_as_wide_as_the_dashboard_asks() -> None:
    png = render_chart([_series([4.0] * 30)], title=TITLE, labels=LABELS, width=CHART_WIDTH)
    with Image.open(io.BytesIO(png)) as image:
        assert image.width == 640
