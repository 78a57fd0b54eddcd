"""The customer's survey page, `/s/<token>`: one question at a time, plain form posts, no JavaScript needed.

With JavaScript the page posts with fetch and the server answers with just the chat fragment
(`X-Palaute-Fragment: 1`), which the script swaps in place.
"""

from __future__ import annotations

import logging
import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aiohttp import web

from bot.channels.web.guard import COOKIE, BrowserIds
from bot.channels.web.links import LinkBuilder
from bot.channels.web.responses import (
    Closure,
    Link,
    LinkNotFound,
    Outcome,
    RateLimited,
    Shown,
    WebResponses,
)
from bot.channels.web.texts import TEXTS
from bot.channels.web.view import accepted_languages, survey_view
from bot.clock import Clock
from bot.config import LOGO_TYPES, OrganisationConfig
from bot.http.client_address import ClientAddresses
from bot.http.forms import FormData, UnreadableForm, read_form
from bot.http.pages import STATIC_DIR, html_response, render
from bot.tokens import TokenSigner
from conversations.localization import pick_language
from conversations.texts import CATALOGS
from storage.database import StorageError

if TYPE_CHECKING:
    from bot.channels.context import AnswerServices

log = logging.getLogger(__name__)

FRAGMENT_HEADER = "X-Palaute-Fragment"
THEME_PATH = "/brand/theme.css"
LOGO_PATH = "/brand/logo"
MAX_QUESTION_DIGITS = 4
"""The form's question number `q`; int() of thousands of digits is refused (and slow)."""
STORAGE_RETRY_SECONDS = 10


@dataclass(frozen=True)
class Submission:
    link: Link
    browser_id: str
    form: FormData
    question_index: int


class SurveyPages:
    def __init__(
        self,
        responses: WebResponses,
        browsers: BrowserIds,
        default_language: str,
        addresses: ClientAddresses | None = None,
    ) -> None:
        self.responses = responses
        self.browsers = browsers
        self.default_language = default_language
        self.addresses = addresses or ClientAddresses()

    async def get(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._get(request)
        except StorageError as error:
            return self._storage_failed(request, error)

    async def post(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._post(request)
        except StorageError as error:
            return self._storage_failed(request, error)

    def _storage_failed(self, request: web.Request, error: StorageError) -> web.Response:
        # Nothing of this answer was stored (its transaction rolled back): the customer sends it
        # again, as API clients do on a 503.
        log.warning("a web survey answer could not be stored: %s", error)
        return self._notice(
            request,
            503,
            "storage_title",
            "storage_busy",
            again=True,
            headers={"Retry-After": str(STORAGE_RETRY_SECONDS)},
        )

    async def _get(self, request: web.Request) -> web.StreamResponse:
        browser_id = self.browsers.read_cookie(request.cookies.get(COOKIE))
        try:
            link = await self._link(request)
        except LinkNotFound:
            return self._not_found(request)
        outcome = await self.responses.show(link, browser_id, _languages(request))
        owner = browser_id or self.browsers.new_id()
        if isinstance(outcome, Shown) and not is_link_preview(request.headers.get("User-Agent")):
            await self.responses.record_view(link, owner)
        response = self._outcome(request, outcome, owner)
        if browser_id is None:
            self._set_cookie(request, response, owner)
        return response

    async def _submitted(self, request: web.Request) -> Submission | web.Response:
        """A survey form post, read and checked (its link, browser, CSRF token and question
        number), or the page that refuses it."""
        browser_id = self.browsers.read_cookie(request.cookies.get(COOKIE))
        try:
            link = await self._link(request)
        except LinkNotFound:
            return self._not_found(request)
        try:
            form = await read_form(request)
        except UnreadableForm as error:
            log.warning("refused a web survey post: %s", error)
            return self._notice(
                request,
                400,
                "form_expired_title",
                error.text_key,
                again=True,
                params=error.params,
            )
        csrf = form.get("csrf")
        if browser_id is None or not self.browsers.csrf_valid(
            browser_id, csrf if isinstance(csrf, str) else None
        ):
            return self._notice(request, 403, "form_expired_title", "form_expired", again=True)
        index = form.get("q")
        if not isinstance(index, str) or not (
            index.isascii() and index.isdigit() and len(index) <= MAX_QUESTION_DIGITS
        ):
            return self._notice(request, 400, "form_expired_title", "form_expired", again=True)
        return Submission(link, browser_id, form, int(index))

    async def _post(self, request: web.Request) -> web.StreamResponse:
        submitted = await self._submitted(request)
        if isinstance(submitted, web.Response):
            return submitted
        choice, typed = submitted.form.get("choice"), submitted.form.get("text")
        raw = choice if isinstance(choice, str) else typed if isinstance(typed, str) else ""
        try:
            outcome = await self.responses.answer(
                submitted.link,
                submitted.browser_id,
                _languages(request),
                self.addresses.of(request),
                submitted.question_index,
                raw,
            )
        except RateLimited as limited:
            return self._notice(
                request,
                429,
                "rate_limited_title",
                "rate_limited",
                headers={"Retry-After": str(math.ceil(limited.retry_after))},
            )
        if isinstance(outcome, Shown) and outcome.error is None and not _wants_fragment(request):
            # Post/redirect/get: a refresh shows the next question instead of posting again.
            raise web.HTTPSeeOther(request.path_qs)
        return self._outcome(request, outcome, submitted.browser_id)

    async def back(self, request: web.Request) -> web.StreamResponse:
        """ "Back" (a form of its own, so it works without JavaScript): ask the previous
        question again."""
        try:
            submitted = await self._submitted(request)
            if isinstance(submitted, web.Response):
                return submitted
            outcome = await self.responses.back(
                submitted.link, submitted.browser_id, _languages(request), submitted.question_index
            )
        except StorageError as error:
            return self._storage_failed(request, error)
        if isinstance(outcome, Shown) and not _wants_fragment(request):
            raise web.HTTPSeeOther(_survey_path(request))
        return self._outcome(request, outcome, submitted.browser_id)

    async def _link(self, request: web.Request) -> Link:
        return await self.responses.resolve(request.match_info["token"], request.query.get("p"))

    def _outcome(self, request: web.Request, outcome: Outcome, browser_id: str) -> web.Response:
        if outcome is Closure.EXPIRED:
            return self._notice(request, 410, "closed_title", "survey_closed")
        if outcome is Closure.UNAVAILABLE:
            return self._notice(request, 410, "closed_title", "unavailable")
        assert isinstance(outcome, Shown)
        organisation = self.responses.config.organisation
        view = survey_view(outcome.conversation, outcome.error, organisation.name)
        path = request.path.removesuffix("/back")
        query = f"?{request.query_string}" if request.query_string else ""
        context = {
            "view": view,
            "title": view.title,
            "action": path + query,
            "back_action": f"{path}/back{query}",
            "csrf": self.browsers.csrf_token(browser_id),
            "organisation": organisation,
            "theme_url": THEME_PATH if organisation.accent else None,
            "logo_url": LOGO_PATH if organisation.logo else None,
        }
        template = "survey_chat.html" if _wants_fragment(request) else "survey_page.html"
        status = 422 if outcome.error else 200
        return html_response(
            render(template, view.language, texts=TEXTS.text, **context), status=status
        )

    def _notice(
        self,
        request: web.Request,
        status: int,
        heading: str,
        body: str,
        *,
        again: bool = False,
        headers: dict[str, str] | None = None,
        params: dict[str, object] | None = None,
    ) -> web.Response:
        language = pick_language(_languages(request), tuple(CATALOGS), self.default_language)
        template = "survey_notice.html" if _wants_fragment(request) else "survey_message.html"
        page = render(
            template,
            language,
            texts=TEXTS.text,
            title=TEXTS.text(heading, language),
            heading=TEXTS.text(heading, language),
            body=TEXTS.text(body, language, **(params or {})),
            again_url=request.path_qs if again else None,
            level=2,
        )
        return html_response(page, status=status, headers=headers)

    def _not_found(self, request: web.Request) -> web.Response:
        return self._notice(request, 404, "not_found_title", "not_found")

    def _set_cookie(
        self, request: web.Request, response: web.StreamResponse, browser_id: str
    ) -> None:
        # A session cookie: one response per browser session, as promised on open links.
        response.set_cookie(
            COOKIE,
            self.browsers.cookie_value(browser_id),
            path="/s/",
            httponly=True,
            samesite="Lax",
            secure=request.secure or self.responses.config.server.base_url.startswith("https:"),
        )


def _survey_path(request: web.Request) -> str:
    """The survey page's own address (its path and `?p=`), also when answering "back"."""
    path = request.path.removesuffix("/back")
    return f"{path}?{request.query_string}" if request.query_string else path


# Chat apps fetch a link to preview it before anyone opens it: Slack ("Slackbot-LinkExpanding"),
# Telegram ("TelegramBot (like TwitterBot)"), WhatsApp, Facebook ("facebookexternalhit"),
# Discord, Microsoft Teams ("SkypeUriPreview"), and crawlers that call themselves bots.
_PREVIEW_AGENTS = re.compile(
    r"bot\b|bot/|crawler|spider|preview|facebookexternalhit|whatsapp|slack|telegram|discord"
    r"|skypeuripreview|embedly|curl/|wget/|python-requests",
    re.IGNORECASE,
)


def is_link_preview(user_agent: str | None) -> bool:
    """Whether a request comes from a link preview or a crawler rather than a person's browser."""
    return not user_agent or _PREVIEW_AGENTS.search(user_agent) is not None


def _languages(request: web.Request) -> list[str]:
    return accepted_languages(request.headers.get("Accept-Language"))


def _wants_fragment(request: web.Request) -> bool:
    return request.headers.get(FRAGMENT_HEADER) == "1"


def brand_routes(organisation: OrganisationConfig) -> list[web.RouteDef]:
    """The organisation's accent colour and logo, from palaute's own address: the page's
    Content-Security-Policy stays 'self', and no third party sees who opens a survey."""

    async def theme(_request: web.Request) -> web.Response:
        css = f":root {{ --accent: {organisation.accent}; }}\n" if organisation.accent else ""
        return web.Response(
            text=css, content_type="text/css", headers={"Cache-Control": "max-age=300"}
        )

    async def logo(_request: web.Request) -> web.StreamResponse:
        if organisation.logo is None:
            raise web.HTTPNotFound()
        return web.FileResponse(
            organisation.logo,
            headers={
                "Content-Type": LOGO_TYPES[organisation.logo.suffix.lower()],
                "Cache-Control": "max-age=300",
                # An SVG opened on its own runs no script in palaute's origin.
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
                "X-Content-Type-Options": "nosniff",
            },
        )

    return [web.get(THEME_PATH, theme), web.get(LOGO_PATH, logo)]


def survey_pages(answers: AnswerServices, signer: TokenSigner, clock: Clock) -> SurveyPages:
    config = answers.config
    responses = WebResponses(
        answers.store, config, clock, answers.surveys, answers.triggers, signer
    )
    return SurveyPages(
        responses,
        BrowserIds(signer),
        config.defaults.language,
        ClientAddresses(config.server.trusted_proxies),
    )


def routes(pages: SurveyPages, organisation: OrganisationConfig) -> list[web.AbstractRouteDef]:
    """Web surveys, their static files and the organisation's look."""
    return [
        web.get("/s/{token}", pages.get, allow_head=False),
        web.post("/s/{token}", pages.post),
        web.post("/s/{token}/back", pages.back),
        web.static("/static", STATIC_DIR),
        *brand_routes(organisation),
    ]


def announce(links: LinkBuilder, storage_path: str) -> list[str]:
    """The addresses to open after start, logged for whoever runs `palaute run`."""
    lines = [f"Survey demo (open in a browser): {links.open_survey_url('nps')}"]
    lines.append(f"Answers are stored in {os.path.abspath(storage_path)}")
    for line in lines:
        log.info("%s", line)
    return lines
