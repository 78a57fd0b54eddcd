"""`palaute report`: the rolling scores as a terminal table, JSON or CSV."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TextIO

from bot.durations import format_duration
from bot.team.reports.format import (
    format_rate,
    format_score,
    format_shown,
    format_trend,
    metric_label,
    scores_text,
)
from bot.team.scores import TrendRow
from storage.reports import Comment

LANGUAGE = "en"
CSV_COLUMNS = (
    "window", "survey", "group", "question", "kind", "headline", "n", "value", "margin_of_error",
    "low", "high", "enough_answers", "previous_n", "previous_value", "change", "trend", "response_rate",
    "comment_rate", "invitations_sent", "responses",
)  # fmt: skip


def window_name(window: timedelta) -> str:
    """'7d', '30d', or the duration as written ('12h') when it is not whole days."""
    if window.total_seconds() % 86400 == 0:
        return f"{window.days}d"
    return format_duration(window)


def group_label(row: TrendRow, by: str | None) -> str:
    if row.group is not None:
        return row.group
    return "(none)" if by else "all"


@dataclass(frozen=True)
class WindowReport:
    window: timedelta
    rows: list[TrendRow]


def comment_json(comment: Comment, timezone: Any) -> dict[str, Any]:
    return {
        "survey": comment.survey_id,
        "question": comment.question_id,
        "text": comment.text,
        "score": comment.score,
        "scores": {question_id: value for question_id, _kind, value in comment.scores},
        "answered_at": datetime.fromtimestamp(comment.answered_at, timezone).isoformat(
            timespec="seconds"
        ),
        "touchpoint": comment.touchpoint,
        "channel": comment.channel,
        "properties": dict(comment.properties),
    }


def write_json(
    reports: Sequence[WindowReport],
    comments: Sequence[Comment],
    *,
    by: str | None,
    min_n: int,
    generated_at: datetime,
    out: TextIO,
) -> None:
    json.dump(
        {
            "generated_at": generated_at.isoformat(timespec="seconds"),
            "by": by,
            "min_n": min_n,
            "windows": [
                {
                    "window": window_name(report.window),
                    "scores": [row.as_json() for row in report.rows],
                }
                for report in reports
            ],
            "comments": [comment_json(c, generated_at.tzinfo) for c in comments],
        },
        out,
        ensure_ascii=False,
        indent=2,
    )
    out.write("\n")


def write_csv(reports: Sequence[WindowReport], out: TextIO) -> None:
    """One row per window, survey, group and scored question: ready for a spreadsheet."""
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for report in reports:
        for row in report.rows:
            survey = row.as_json()
            for question in survey["questions"]:
                previous = question["previous"] or {}
                writer.writerow(
                    [
                        window_name(report.window), row.survey, row.group or "",
                        question["question"], question["kind"],
                        question["question"] == survey["headline"], question["n"],
                        question["value"], question["margin_of_error"], question["low"],
                        question["high"],
                        question["enough_answers"], previous.get("n", 0), previous.get("value"),
                        question["change"], question["trend"], survey["response_rate"],
                        survey["comment_rate"], survey["invitations_sent"], survey["responses"],
                    ]
                )  # fmt: skip


def write_text(
    reports: Sequence[WindowReport],
    comments: Sequence[Comment],
    *,
    by: str | None,
    timezone: Any,
    out: TextIO,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(file=out, width=140)
    for report in reports:
        window = window_name(report.window)
        if not report.rows:
            console.print(f"No answers in the last {window}.")
            continue
        table = Table(title=f"Scores over the last {window}, next to the {window} before")
        for column in ("survey", "group", "score", "change", "response rate", "comments"):
            table.add_column(column, justify="left" if column != "response rate" else "right")
        details: list[tuple[TrendRow, Any]] = []
        for row in report.rows:
            headline = row.headline
            score = format_score(headline, LANGUAGE) if headline else "no scored answers"
            trend = format_trend(headline, LANGUAGE) if headline and headline.enough else ""
            table.add_row(
                row.survey,
                group_label(row, by),
                score,
                trend,
                format_rate(row.current.response_rate),
                format_rate(row.current.comment_rate),
            )
            details += [(row, q) for q in row.questions if len(row.questions) > 1]
        console.print(table)
        if details:
            questions = Table(title=f"Per question, last {window}")
            for column in ("survey", "group", "question", "n", "value", "change"):
                questions.add_column(column)
            for row, question in details:
                value = format_shown(question.current) if question.enough else "too few answers"
                questions.add_row(
                    row.survey,
                    group_label(row, by),
                    metric_label(question.kind, question.question_id),
                    str(question.current.n),
                    value.strip(),
                    format_trend(question, LANGUAGE),
                )
            console.print(questions)
    if comments:
        console.print("Latest comments:")
        for comment in comments:
            when = datetime.fromtimestamp(comment.answered_at, timezone).strftime("%Y-%m-%d %H:%M")
            score = f" [{scores_text(comment.scores)}]" if comment.scores else ""
            console.print(f"  {when} {comment.survey_id}{score}: {comment.text}", markup=False)
