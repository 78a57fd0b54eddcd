"""The dashboard in a real, headless Chromium: on a phone, its charts, comments and sign-in link."""

# ruff: noqa: F811  (the chromium fixture is imported as a name, then used as an argument)

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.app import PalauteApp
from conversations.builtin import builtin_surveys
from storage.invitations import NewInvitation
from storage.records import InvitationState
from storage.store import Store
from tests.chromium import BROWSER, PHONE, chromium  # noqa: F401  (fixture)
from tests.clock import FakeClock
from tests.conftest import AppFactory, make_config
from tests.test_dashboard import NOW, PASSWORD, _filled, _toml

DESKTOP = {"width": 1280, "height": 900}

pytestmark = BROWSER

WIDER_THAN_THE_SCREEN = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width && (box.right > width + 0.5 || box.left < -0.5)) {
      wide.push(`${element.tagName.toLowerCase()}.${element.className}: ${Math.round(box.left)}–${Math.round(box.right)}`);
    }
  }
  return {page: document.documentElement.scrollWidth, width, wide: wide.slice(0, 12)};
}"""


def _base(app: PalauteApp) -> str:
    return f"http://127.0.0.1:{app.http.port}"


async def _signed_in_page(chromium: Any, base: str, viewport: dict[str, int]) -> Any:
    page = await chromium.new_page(viewport=viewport)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.problems = problems
    await page.goto(f"{base}/dashboard/login")
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard")
    return page


async def _charts_loaded(page: Any) -> list[dict[str, float]]:
    """Scroll every chart into view (they load lazily) and measure it once loaded."""
    for image in await page.query_selector_all("img.chart"):
        await image.scroll_into_view_if_needed()
    await page.wait_for_function(
        "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"
    )
    return list(
        await page.eval_on_selector_all(
            "img.chart",
            """images => images.map(i => ({
                natural: i.naturalWidth, shown: i.getBoundingClientRect().width,
                card: i.closest('.card').getBoundingClientRect().width}))""",
        )
    )


async def test_on_a_phone_nothing_is_wider_than_the_screen(
    app_factory: AppFactory, db_path: Path, chromium: Any
) -> None:
    await _filled(db_path)
    app = await app_factory(make_config(_toml(), db_path), channels={}, clock=FakeClock(NOW))
    page = await _signed_in_page(chromium, _base(app), PHONE)
    await page.wait_for_load_state("networkidle")
    measured = await page.evaluate(WIDER_THAN_THE_SCREEN)
    assert measured["page"] <= PHONE["width"] and measured["wide"] == [], measured
    charts = await _charts_loaded(page)
    assert len(charts) == 4
    for chart in charts:
        # A chart drawn for the phone: not the desktop one shrunk until its text is unreadable.
        assert chart["shown"] <= chart["card"] and chart["natural"] >= 2 * chart["shown"] * 0.9
        assert chart["natural"] < 900, chart
    assert page.problems == []
    # Still the whole page, not a cut version of it.
    for heading in ("Net Promoter Score", "Open follow-ups", "Recent comments"):
        assert await page.get_by_role("heading", name=heading).is_visible()


async def test_on_a_desktop_the_charts_are_the_desktop_ones(
    app_factory: AppFactory, db_path: Path, chromium: Any
) -> None:
    await _filled(db_path)
    app = await app_factory(make_config(_toml(), db_path), channels={}, clock=FakeClock(NOW))
    page = await _signed_in_page(chromium, _base(app), DESKTOP)
    charts = await _charts_loaded(page)
    assert len(charts) == 4 and all(chart["natural"] == 640 for chart in charts), charts
    measured = await page.evaluate(WIDER_THAN_THE_SCREEN)
    assert measured["wide"] == [], measured


async def _respond(
    db_path: Path,
    survey_id: str,
    touchpoint: str,
    answers: dict[str, int | str],
    *,
    ago: float,
    properties: dict[str, str] | None = None,
    followup: bool = False,
) -> int:
    """One customer's answers to a survey, `ago` seconds before NOW; the invitation's id."""
    store = await Store.open(db_path)
    at = NOW.timestamp() - ago
    survey = builtin_surveys()[survey_id]
    async with store.database.transaction() as connection:
        contact = await store.contacts.ensure(
            connection, channel="telegram", address=f"{survey_id}-{ago}", now=at
        )
        invitation_id = await store.invitations.insert(
            connection,
            NewInvitation(touchpoint, survey_id, contact, "telegram", at - 600, properties or {},
                          InvitationState.SENT, None, at - 600, None, None),
            now=at - 600,
        )  # fmt: skip
        invitation = await store.invitations.get(invitation_id)
        assert invitation is not None
        for question in survey.questions:
            if question.id in answers:
                await store.answers.insert(
                    connection, invitation, "telegram", question, answers[question.id], now=at
                )
        if followup:
            await store.followups.create(connection, invitation_id, now=at)
    await store.close()
    return invitation_id


async def _comment_items(page: Any) -> list[dict[str, str]]:
    return list(
        await page.eval_on_selector_all(
            "ul.comments > li",
            """items => items.map(li => ({
                text: li.querySelector('blockquote').innerText,
                score: (li.querySelector('.score') || {innerText: ''}).innerText}))""",
        )
    )


async def test_every_comment_shows_its_score_and_comments_can_be_filtered_and_opened(
    app_factory: AppFactory, db_path: Path, chromium: Any
) -> None:
    await _filled(db_path)
    await _respond(
        db_path, "event", "market_day",
        {"before": 4, "during": 1, "after": 2, "change": "The turnstile at the door took an hour"},
        ago=120, properties={"event_name": "Joulumarkkinat"},
    )  # fmt: skip
    await _respond(
        db_path, "csat", "support_chat", {"csat": 5, "why": "Quick and TURNSTILE-free"}, ago=180
    )
    app = await app_factory(make_config(_toml(), db_path), channels={}, clock=FakeClock(NOW))
    base = _base(app)
    page = await _signed_in_page(chromium, base, DESKTOP)
    comments = await _comment_items(page)
    assert len(comments) >= 5
    # A 1 and a 5 no longer look alike: every comment carries the score it came with.
    assert all(c["score"] for c in comments), comments
    event = next(c for c in comments if c["text"] == "The turnstile at the door took an hour")
    assert event["score"] == "before 4 · during 1 · after 2"
    assert next(c for c in comments if c["text"].startswith("<script>"))["score"] == "NPS 2"

    # Only the lowest scores, of one survey.
    await page.select_option("form.comment-filters select[name=survey]", "event")
    await page.fill("form.comment-filters input[name=score_max]", "2")
    await page.click("form.comment-filters button")
    await page.wait_for_load_state("networkidle")
    low = await _comment_items(page)
    assert low[0]["text"] == "The turnstile at the door took an hour"
    for comment in low:
        scores = [int(part.rsplit(" ", 1)[1]) for part in comment["score"].split(" · ")]
        assert min(scores) <= 2 and comment["score"].startswith("before "), comment

    # Words in the comment, whatever their case, over all surveys.
    await page.goto(f"{base}/dashboard?q=turnstile")
    found = await _comment_items(page)
    assert sorted(c["text"] for c in found) == [
        "Quick and TURNSTILE-free",
        "The turnstile at the door took an hour",
    ]
    assert await page.input_value("form.comment-filters input[name=q]") == "turnstile"
    # The page's touchpoint filter narrows the comments too.
    await page.goto(f"{base}/dashboard?q=turnstile&touchpoint=support_chat")
    assert [c["text"] for c in await _comment_items(page)] == ["Quick and TURNSTILE-free"]
    # A search that matches nothing says so.
    await page.goto(f"{base}/dashboard?q=%25_nothing_like_this")
    assert await _comment_items(page) == []
    assert await page.get_by_text("No comments match these filters.").is_visible()

    # One response with all its answers.
    await page.goto(f"{base}/dashboard?q=turnstile&survey=event")
    await page.click("ul.comments > li a.response")
    await page.wait_for_load_state("networkidle")
    assert "/dashboard/response/" in page.url
    answers = await page.eval_on_selector_all(
        "dl.answers > div",
        "rows => rows.map(r => [r.querySelector('dt').innerText, r.querySelector('dd').innerText])",
    )
    assert answers == [
        ["Before the event: how well did booking and information work?", "4"],
        ["The day itself: how was Joulumarkkinat?", "1"],
        ["Afterwards: how do you feel about the event now?", "2"],
        ["What should we change next time?", "The turnstile at the door took an hour"],
    ]
    body = await page.inner_text("main")
    assert (
        "Event feedback" in body and "market_day" in body and "event_name: Joulumarkkinat" in body
    )
    assert page.problems == []
    missing = await page.goto(f"{base}/dashboard/response/999999")
    assert missing is not None and missing.status == 404


async def test_follow_up_ages_read_in_minutes_hours_and_days(
    app_factory: AppFactory, db_path: Path, chromium: Any
) -> None:
    for ago, comment in (
        (60, "a minute ago"),
        (3 * 3600 + 300, "three hours ago"),
        (2 * 86400 + 3600, "two days ago"),
    ):
        await _respond(
            db_path, "nps", "order_delivered", {"nps": 1, "why": comment}, ago=ago, followup=True
        )
    app = await app_factory(make_config(_toml(), db_path), channels={}, clock=FakeClock(NOW))
    page = await _signed_in_page(chromium, _base(app), DESKTOP)
    rows = await page.eval_on_selector_all(
        "table.list tbody tr",
        "rows => rows.map(r => [r.querySelector('.comment').innerText, r.querySelector('.age').innerText])",
    )
    assert sorted(rows) == sorted(
        [["a minute ago", "1 min"], ["three hours ago", "3 h"], ["two days ago", "2 d"]]
    )
