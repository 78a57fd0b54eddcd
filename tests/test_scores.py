"""Rolling scores through a real SQLite file, checked against a plain-Python reference."""

from __future__ import annotations

import asyncio
import json
import math
import time
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.team.scores import Trend, rolling_trends
from conversations import scoring
from conversations.builtin import builtin_surveys
from storage.invitations import NewInvitation
from storage.records import InvitationState
from storage.store import Store
from tests.report_data import DAY, SURVEYS, Fact, generate, group_of, matches

NOW = 1_790_000_000.0
MIN_N = 10


def _reference_score(kind: str, values: list[int]) -> scoring.Score:
    if kind == "nps":
        return scoring.nps_from_values(values)
    if kind == "csat":
        return scoring.csat_from_values(values)
    return scoring.mean_score(values)


def _reference_value(kind: str, values: list[int]) -> tuple[float | None, float | None]:
    score = _reference_score(kind, values)
    if isinstance(score, scoring.NpsScore):
        return score.nps, score.margin_of_error
    if isinstance(score, scoring.ProportionScore):
        return score.percent, score.margin_of_error
    return score.mean, score.margin_of_error


def _reference(
    facts: list[Fact], start: float, end: float, by: str | None, filters: dict[str, str]
) -> dict[tuple[str, str | None], dict[str, object]]:
    """Every number of a window, computed from the generated facts without SQL."""
    result: dict[tuple[str, str | None], dict[str, object]] = {}
    for fact in facts:
        if not matches(fact, filters):
            continue
        key = (fact.survey_id, group_of(fact, by))
        entry = result.setdefault(
            key, {"values": {}, "sent": 0, "answered": 0, "responses": 0, "comments": 0}
        )
        if start <= fact.sent_at < end:
            entry["sent"] += 1  # type: ignore[operator]
            # answered as of the window's end
            entry["answered"] += fact.started_at is not None and fact.started_at < end  # type: ignore[operator]
        in_window = {q: v for q, (v, at) in fact.answers.items() if start <= at < end}
        answered = {q: v for q, v in in_window.items() if v is not None}
        if answered:
            entry["responses"] += 1  # type: ignore[operator]
        if any(isinstance(v, str) for v in answered.values()):
            entry["comments"] += 1  # type: ignore[operator]
        for question, value in answered.items():
            if isinstance(value, int):
                entry["values"].setdefault(question, []).append(value)  # type: ignore[union-attr]
    return {k: v for k, v in result.items() if v["sent"] or v["responses"]}


def _close(actual: float | None, expected: float | None) -> bool:
    if actual is None or expected is None:
        return actual is expected
    return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("seed", [1, 2])
async def test_scores_match_a_reference_computation(store: Store, seed: int) -> None:
    facts = await generate(store, seed=seed, now=NOW)
    cases = [
        (7, None, {}),
        (30, None, {}),
        (30, "touchpoint", {}),
        (30, "channel", {}),
        (30, "property:store", {}),
        (30, None, {"property:store": "Kamppi"}),
        (7, "channel", {"touchpoint": "visit"}),
    ]
    for days, by, filters in cases:
        window = timedelta(days=days)
        rows = await rolling_trends(
            store, SURVEYS, now=NOW, window=window, min_n=MIN_N, by=by, filters=filters
        )
        # Whole UTC days (the default time zone) ending with the day before NOW.
        midnight = NOW - NOW % DAY
        start = midnight - days * DAY
        current = _reference(facts, start, midnight, by, filters)
        previous = _reference(facts, start - days * DAY, start, by, filters)
        assert {(r.survey, r.group) for r in rows} == set(current) | set(previous), (days, by)
        for row in rows:
            key = (row.survey, row.group)
            now_ref = current.get(
                key, {"values": {}, "sent": 0, "answered": 0, "responses": 0, "comments": 0}
            )
            before_ref = previous.get(key, {"values": {}})
            sent = int(now_ref["sent"])  # type: ignore[call-overload]
            assert row.current.invitations_sent == sent
            expected_rate = now_ref["answered"] / sent if sent else None  # type: ignore[operator]
            assert _close(row.current.response_rate, expected_rate)
            responses = int(now_ref["responses"])  # type: ignore[call-overload]
            assert row.current.responses == responses
            assert _close(
                row.current.comment_rate, now_ref["comments"] / responses if responses else None
            )  # type: ignore[operator]
            survey = SURVEYS[row.survey]
            for question in row.questions:
                kind = survey.question(question.question_id).kind.value
                values = now_ref["values"].get(question.question_id, [])  # type: ignore[union-attr]
                old = before_ref["values"].get(question.question_id, [])  # type: ignore[union-attr]
                value, margin = _reference_value(kind, values)
                assert question.current.n == len(values)
                assert _close(question.current.value, value), (key, question.question_id)
                assert _close(question.current.margin_of_error, margin)
                assert question.previous is None or question.previous.n == len(old)
                difference = scoring.difference(
                    _reference_score(kind, values), _reference_score(kind, old)
                )
                if len(values) < MIN_N or len(old) < MIN_N:
                    assert question.trend is Trend.TOO_FEW
                elif difference is None or not difference.clear:
                    assert question.trend is Trend.NO_CLEAR_CHANGE
                else:
                    rise = difference.interval.low > 0
                    assert question.trend is (Trend.UP if rise else Trend.DOWN)
            headline = survey.headline or survey.questions[0]
            if now_ref["values"] or before_ref["values"]:
                assert row.headline is not None and row.headline.question_id == headline.id
                assert row.current.n == row.headline.current.n
            else:
                assert row.headline is None and row.current.n == 0
            assert row.enough == (row.current.n >= MIN_N)


async def _answer(store: Store, survey_id: str, answers: dict[str, object], at: float) -> int:
    survey = builtin_surveys()[survey_id]
    async with store.database.transaction() as connection:
        contact = await store.contacts.ensure(
            connection, channel="telegram", address=str(at), now=at
        )
        invitation_id = await store.invitations.insert(
            connection,
            NewInvitation("visit", survey_id, contact, "telegram", at, {"event_name": "Expo"},
                          InvitationState.SENT, None, at, None, None),
            now=at,
        )  # fmt: skip
        invitation = await store.invitations.get(invitation_id)
        assert invitation is not None
        for question_id, value in answers.items():
            await store.answers.insert(
                connection,
                invitation,
                "telegram",
                survey.question(question_id),
                value,
                now=at,  # type: ignore[arg-type]
            )
    return invitation_id


async def test_an_abandoned_survey_still_counts_its_score(store: Store) -> None:
    await _answer(store, "nps", {"nps": 3}, NOW - DAY - 100)
    await _answer(store, "nps", {"nps": 10, "why": "great"}, NOW - DAY - 50)
    (row,) = await rolling_trends(store, SURVEYS, now=NOW, window=timedelta(days=7), min_n=1)
    assert row.current.n == 2 and row.current.nps == 0.0
    assert row.current.responses == 2 and row.current.comment_rate == 0.5


async def test_event_survey_is_broken_down_per_part(store: Store) -> None:
    for day in range(12):
        await _answer(
            store,
            "event",
            {"before": 2, "during": 5, "after": 4 if day % 2 else 3},
            NOW - DAY - day * 3600,
        )
    (row,) = await rolling_trends(store, SURVEYS, now=NOW, window=timedelta(days=7), min_n=10)
    parts = {q.question_id: q.current.value for q in row.questions}
    assert parts == {"before": 2.0, "during": 5.0, "after": 3.5}
    assert row.headline is not None and row.headline.question_id == "before"
    assert all(q.trend is Trend.TOO_FEW for q in row.questions)  # nothing the week before


async def test_a_small_change_is_no_clear_change_and_a_big_one_is_a_trend(store: Store) -> None:
    for i in range(40):
        await _answer(store, "csat", {"csat": 4 if i % 4 else 2}, NOW - 8 * DAY - i)  # 75%
        await _answer(store, "csat", {"csat": 4 if i % 5 else 2}, NOW - DAY - i)  # 80%
        await _answer(store, "nps", {"nps": 9 if i % 2 else 3}, NOW - 8 * DAY - i)  # 0
        await _answer(store, "nps", {"nps": 10}, NOW - DAY - i)  # +100
    rows = {
        r.survey: r
        for r in await rolling_trends(store, SURVEYS, now=NOW, window=timedelta(days=7), min_n=10)
    }
    csat, nps = rows["csat"].headline, rows["nps"].headline
    assert csat is not None and csat.trend is Trend.NO_CLEAR_CHANGE
    assert csat.change == pytest.approx(5.0)
    assert nps is not None and nps.trend is Trend.UP and nps.change == pytest.approx(100.0)


async def test_comments_are_newest_first_with_their_score(store: Store) -> None:
    await _answer(store, "nps", {"nps": 4, "why": "slow"}, NOW - 300)
    await _answer(store, "csat", {"csat": 5, "why": "lovely"}, NOW - 100)
    comments = await store.reports.comments(NOW - DAY, NOW + 1)
    assert [(c.text, c.score, c.survey_id) for c in comments] == [
        ("lovely", 5, "csat"),
        ("slow", 4, "nps"),
    ]
    assert comments[0].properties == {"event_name": "Expo"}


async def test_unknown_breakdowns_are_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown breakdown"):
        await rolling_trends(
            store, SURVEYS, now=NOW, window=timedelta(days=7), min_n=10, by="colour"
        )
    with pytest.raises(ValueError, match="letters, digits"):
        await store.reports.aggregates(0, NOW, filters={"property:x') OR 1=1 --": "a"})


def _cli_config(tmp_path: Path, db_path: Path) -> Path:
    config = tmp_path / "palaute.toml"
    config.write_text(f'[storage]\npath = "{db_path}"\n[team]\nmin_n = 5\nwindows = [7, 30]\n')
    return config


async def test_cli_report_shows_previous_window_and_change(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await Store.open(db_path)
    await generate(store, seed=3, now=time.time(), count=200, days=60)
    await store.close()
    config = _cli_config(tmp_path, db_path)
    assert await _run(["report", "--config", str(config), "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [w["window"] for w in data["windows"]] == ["7d", "30d"]
    nps = next(s for s in data["windows"][1]["scores"] if s["survey"] == "nps")
    assert {"previous", "change", "trend", "enough_answers", "questions"} <= set(nps)
    assert nps["previous"]["n"] > 0 and nps["trend"] in {t.value for t in Trend}
    assert (
        await _run(["report", "--config", str(config), "--window", "30d", "--by", "property:store"])
        == 0
    )
    text = capsys.readouterr().out
    assert "Scores over the last 30d" in text and "Kamppi" in text and "(none)" in text
    assert "Per question" in text  # the event survey's parts
    assert await _run(["report", "--config", str(config), "--format", "csv", "--window", "7d"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("window,survey,group,question") and len(lines) > 5
    assert await _run(["report", "--config", str(config), "--by", "colour"]) == 2


async def _run(argv: list[str]) -> int:
    return await asyncio.to_thread(main, argv)


async def test_an_asymmetric_interval_is_shown_as_it_is_not_as_plus_minus(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = await Store.open(db_path)
    now = time.time()
    for i in range(10):
        await _answer(store, "nps", {"nps": 0}, now - 2 * DAY - i)  # every answer a detractor
        await _answer(store, "csat", {"csat": 5}, now - 2 * DAY - i)  # 10 of 10 satisfied
    await store.close()
    config = _cli_config(tmp_path, db_path)

    assert await _run(["report", "--config", str(config), "--window", "7d"]) == 0
    text = capsys.readouterr().out
    # The NPS interval is [-100, -47.5] and CSAT's [72.2, 100]: "±26" and "±14" hid that.
    assert "NPS -100 [-100, -48]" in text and "±" not in text.split("NPS -100")[1][:12]
    assert "CSAT 100% [72%, 100%]" in text

    assert (
        await _run(["report", "--config", str(config), "--window", "7d", "--format", "json"]) == 0
    )
    scores = {s["survey"]: s for s in json.loads(capsys.readouterr().out)["windows"][0]["scores"]}
    assert scores["nps"]["low"] == -100.0 and scores["nps"]["high"] == pytest.approx(-47.5, abs=0.1)
    assert scores["csat"]["low"] == pytest.approx(72.2, abs=0.1) and scores["csat"]["high"] == 100
    question = scores["nps"]["questions"][0]
    assert question["low"] == -100.0 and question["high"] == pytest.approx(-47.5, abs=0.1)
    assert question["margin_of_error"] == pytest.approx(26.2, abs=0.1)  # kept, beside them

    assert await _run(["report", "--config", str(config), "--window", "7d", "--format", "csv"]) == 0
    import csv as csv_module
    import io

    rows = list(csv_module.DictReader(io.StringIO(capsys.readouterr().out)))
    nps_row = next(r for r in rows if r["survey"] == "nps" and r["question"] == "nps")
    assert float(nps_row["low"]) == -100.0 and float(nps_row["high"]) == pytest.approx(-47.5, 0.01)
