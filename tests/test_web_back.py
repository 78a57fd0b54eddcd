"""Changing the previous answer before finishing, with plain forms (no JavaScript needed); the
enhanced page in Chromium is in test_web_browser.py."""

from __future__ import annotations

from tests.conftest import AppFactory
from tests.test_web_survey import base_url, open_link, rows
from tests.web_pages import Browser

NPS = "How likely are you to recommend us to a friend or colleague?"
WHY = "What is the main reason for your score?"
FIX = "What should we fix first?"


async def test_back_without_javascript_changes_the_answer_and_its_branch(
    app_factory: AppFactory,
) -> None:
    app = await app_factory()
    async with Browser(base_url(app), language="en") as browser:
        page = await browser.open(open_link(app, "nps"))
        assert page.back_action is None  # nothing to go back to yet
        page = await browser.answer("3")
        assert (page.question, page.answers) == (WHY, ["3"])
        assert page.back_label == "← Change my previous answer"
        stale_fields = {k: v for k, v in page.hidden.items() if k in ("csrf", "q")}
        stale_back = page.back_action

        page = await browser.back()
        assert page.status == 200
        assert (page.question, page.answers) == (NPS, [])
        # The same press again from the old page (a double click, a second tab) undoes nothing.
        page = await browser.post(stale_fields, url=stale_back)
        assert (page.question, page.answers) == (NPS, [])

        page = await browser.answer("9")
        assert (page.question, page.answers) == (WHY, ["9"])
        page = await browser.answer("Quick delivery", typed=True)
        assert page.thanks is not None and FIX not in [q for _c, q in page.bubbles]
        assert page.back_action is None  # finished: the answers stand
    stored = await rows(app, "SELECT question_id, value_num, value_text FROM answers ORDER BY id")
    assert [(r["question_id"], r["value_num"], r["value_text"]) for r in stored] == [
        ("nps", 9, None),
        ("why", None, "Quick delivery"),
    ]
