"""`GET /dashboard`: scores, trends, charts, open follow-ups and comments, behind a password.

Server-rendered with the shared Jinja2 environment (bot.http.pages); no scripts, and nothing
from outside palaute. Filters are a plain GET form, so every view is a shareable URL.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.http.client_address import ClientAddresses
from bot.http.dashboard_auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    SESSION_SECONDS,
    DashboardAuth,
    Session,
)
from bot.http.dashboard_link import LINK_SECONDS, SignInLinks, is_loopback
from bot.http.forms import UnreadableForm, read_form
from bot.http.pages import STATIC_DIR, html_response, render
from bot.logs import reveal
from bot.team.alerts import ACTIONS, contact_text
from bot.team.reports.chart import chart_png
from bot.team.reports.followup_text import followup_status, score_text
from bot.team.reports.format import (
    format_rate,
    format_score,
    format_shown,
    format_trend,
    format_uncertainty,
    format_value,
    metric_label,
    scores_text,
)
from bot.team.reports.summary import SummaryBuilder, format_age, properties_text, survey_title
from bot.team.scores import (
    QuestionTrend,
    Trend,
    TrendRow,
    live_as_of,
    rolling_trends,
    window_periods,
)
from bot.texts import text
from conversations.localization import render as render_text
from conversations.localization import resolve
from conversations.questions import AnswerValue, Question, QuestionKind
from storage.reports import Comment

if TYPE_CHECKING:
    from bot.clock import Clock
    from bot.config import Config
    from bot.team.followups import FollowupService
    from bot.tokens import TokenSigner
    from storage.store import Store


class DashboardServices(Protocol):
    """What the dashboard uses of palaute (the app provides it)."""

    store: Store
    config: Config
    clock: Clock
    signer: TokenSigner

    @property
    def followups(self) -> FollowupService: ...

    def base_url(self) -> str: ...


log = logging.getLogger(__name__)

CSS_FILE = "dashboard.css"
WINDOW_CHOICES = (7, 30, 90)
CHART_WIDTH = 6.4
"""Inches at 100 dpi: the chart's text stays readable at the width of a survey card."""
PHONE_CHART_WIDTH = 3.5
PHONE_CHART_DPI = 200
"""A phone's card is ~350 CSS px on a screen of 2–3 device pixels per CSS pixel: a narrower
chart drawn sharper, rather than the desktop one shrunk until its text is unreadable."""
COMMENTS_SHOWN = 15
MAX_FILTER_LENGTH = 200


@dataclass(frozen=True)
class Filters:
    window: int
    touchpoint: str = ""
    property: str = ""
    """"name=value" of one touchpoint property, e.g. "store=Kamppi"."""

    def as_mapping(self) -> dict[str, str]:
        found = {}
        if self.touchpoint:
            found["touchpoint"] = self.touchpoint
        name, sep, value = self.property.partition("=")
        if sep and name:
            found[f"property:{name}"] = value
        return found

    def query(self, **extra: str | int) -> str:
        params: dict[str, str | int] = {"window": self.window}
        if self.touchpoint:
            params["touchpoint"] = self.touchpoint
        if self.property:
            params["property"] = self.property
        params.update(extra)
        return urlencode(params)


@dataclass(frozen=True)
class CommentFilters:
    """What the comment list is narrowed to, on top of the page's filters."""

    survey: str = ""
    score_min: int | None = None
    score_max: int | None = None
    contains: str = ""

    @property
    def active(self) -> bool:
        bounds = (self.score_min, self.score_max)
        return bool(self.survey or self.contains) or bounds != (None, None)


def _score_bound(raw: str) -> int | None:
    try:
        return max(-100, min(100, int(raw)))
    except ValueError:
        return None


@dataclass
class QuestionView:
    label: str
    n: int
    value: str
    trend: str
    trend_class: str


@dataclass
class SurveyView:
    id: str
    title: str
    label: str
    value: str
    margin: str
    n: int
    enough: bool
    note: str
    trend: str
    trend_class: str
    response_rate: str
    comment_rate: str
    invitations: int
    responses: int
    chart_url: str
    phone_chart_url: str
    questions: list[QuestionView] = field(default_factory=list)


def _trend_class(question: QuestionTrend) -> str:
    return {
        Trend.UP: "up",
        Trend.DOWN: "down",
        Trend.NO_CLEAR_CHANGE: "flat",
        Trend.TOO_FEW: "few",
    }[question.trend]


class Dashboard:
    def __init__(self, palaute: DashboardServices) -> None:
        self.palaute = palaute
        self.config = palaute.config
        self.language = palaute.config.defaults.language
        self.zone = ZoneInfo(palaute.config.team.timezone)
        server = palaute.config.server
        password = server.dashboard_password or None
        self.links = (
            SignInLinks(palaute.clock.now) if not password and is_loopback(server.host) else None
        )
        """Used only while no account exists (accounts can be added while palaute runs)."""
        self.auth = DashboardAuth(
            palaute.signer,
            password,
            palaute.store.dashboard_sessions,
            palaute.store.dashboard_accounts,
        )
        self.addresses = ClientAddresses(server.trusted_proxies)
        self.secure = palaute.config.server.base_url.startswith("https://")
        self.builder = SummaryBuilder(palaute.store, palaute.config)
        self.css = (STATIC_DIR / CSS_FILE).read_bytes() if (STATIC_DIR / CSS_FILE).exists() else b""
        windows = {*WINDOW_CHOICES, *palaute.config.team.windows}
        self.windows = sorted(windows)
        self.default_window = max(palaute.config.team.windows)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/dashboard", self.page),
            web.get("/dashboard/login", self.login_form),
            web.post("/dashboard/login", self.login),
            web.post("/dashboard/logout", self.logout),
            web.get("/dashboard/signin", self.sign_in_by_link),
            web.post("/dashboard/signin/new", self.new_link),
            web.get("/dashboard/chart.png", self.chart),
            web.get(r"/dashboard/response/{invitation_id:\d{1,18}}", self.response),
            web.post(r"/dashboard/followup/{followup_id:\d{1,18}}/{action}", self.followup_action),
            web.get(f"/dashboard/{CSS_FILE}", self.stylesheet),
        ]

    def t(self, key: str, **params: object) -> str:
        return text(key, self.language, **params)

    # ------------------------------------------------------------------ sign-in

    def _cookie(self, response: web.StreamResponse, name: str, value: str, max_age: int) -> None:
        response.set_cookie(
            name, value, max_age=max_age, path="/dashboard", httponly=True,
            secure=self.secure, samesite="Strict",
        )  # fmt: skip

    def _off(self) -> web.Response:
        return html_response(
            render("dashboard_message.html", self.language, message=self.t("dash_off")),
            status=404,
        )

    async def _sign_in_by(self) -> str:
        """How one signs in now: "accounts" once any exists, else "password" (the shared one),
        "link" (loopback without a password), or "off"."""
        if await self.palaute.store.dashboard_accounts.any():
            return "accounts"
        if self.auth.password is not None:
            return "password"
        return "link" if self.links is not None else "off"

    async def _session(self, request: web.Request) -> Session | None:
        return await self.auth.session(request.cookies.get(SESSION_COOKIE))

    async def login_form(self, request: web.Request) -> web.Response:
        sign_in_by = await self._sign_in_by()
        if sign_in_by == "off":
            return self._off()
        if await self._session(request) is not None:
            raise web.HTTPSeeOther("/dashboard")
        return self._login_page(sign_in_by, status=200, error=None)

    def _login_page(
        self,
        sign_in_by: str,
        *,
        status: int,
        error: str | None,
        notice: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        nonce = secrets.token_urlsafe(16)
        body = render(
            "dashboard_login.html",
            self.language,
            error=error,
            notice=notice,
            token=self.auth.login_token(nonce),
            link_only=sign_in_by == "link",
            with_name=sign_in_by == "accounts",
        )
        response = html_response(body, status=status, headers=headers)
        self._cookie(response, LOGIN_COOKIE, nonce, 3600)
        return response

    async def login(self, request: web.Request) -> web.Response:
        sign_in_by = await self._sign_in_by()
        if sign_in_by == "off":
            return self._off()
        if sign_in_by == "link":
            return self._login_page(sign_in_by, status=400, error=None)
        address = self.addresses.of(request)
        # Counted before the body is awaited: logins that send their headers first and their
        # bodies later all meet the limit, not the state it had before any of them finished.
        wait = self.auth.attempt(address)
        if wait:
            log.warning("dashboard sign-in from %s refused: too many wrong passwords", address)
            return self._login_page(
                sign_in_by,
                status=429,
                error=self.t("dash_too_many", minutes=math.ceil(wait / 60)),
                headers={"Retry-After": str(wait)},
            )
        try:
            form = await read_form(request)
        except UnreadableForm as error:
            self.auth.not_a_guess(address)
            log.warning("refused a dashboard sign-in: %s", error)
            return self._login_page(sign_in_by, status=400, error=self.t("dash_expired_form"))
        token, password = form.get("token"), form.get("password")
        if not self.auth.login_token_ok(
            request.cookies.get(LOGIN_COOKIE), token if isinstance(token, str) else None
        ):
            self.auth.not_a_guess(address)
            return self._login_page(sign_in_by, status=400, error=self.t("dash_expired_form"))
        if not isinstance(password, str):
            password = ""
        account = None
        if sign_in_by == "accounts":
            name = form.get("name")
            account = await self.auth.account_matching(
                name.strip() if isinstance(name, str) else "", password
            )
            if account is None:
                return self._login_page(
                    sign_in_by, status=401, error=self.t("dash_wrong_name_or_password")
                )
        elif not self.auth.password_matches(password):
            return self._login_page(sign_in_by, status=401, error=self.t("dash_wrong_password"))
        self.auth.not_a_guess(address)
        session, cookie = await self.auth.new_session(account)
        log.info("dashboard: %s signed in (%s)", session.who, session.role)
        response = web.HTTPSeeOther("/dashboard")
        self._cookie(response, SESSION_COOKIE, cookie, SESSION_SECONDS)
        response.del_cookie(LOGIN_COOKIE, path="/dashboard")
        raise response

    async def announce(self, base_url: str) -> None:
        """The dashboard's line in the log at start: its address, a sign-in link, or why it is off."""
        server = self.config.server
        sign_in_by = await self._sign_in_by()
        if sign_in_by == "accounts":
            log.info("Dashboard: %s/dashboard (sign in with a palaute user account)", base_url)
        elif sign_in_by == "link":
            self._print_link(base_url)
        elif sign_in_by == "password":
            log.info("Dashboard: %s/dashboard (sign in with server.dashboard_password)", base_url)
        else:
            log.warning(
                "Dashboard off: server.host %s is reachable from other machines and "
                "server.dashboard_password is not set (nor is any account: palaute user add)",
                server.host,
            )

    def _print_link(self, base_url: str) -> None:
        assert self.links is not None
        token = self.links.issue()
        reveal(
            log,
            "Dashboard sign-in link (one use, valid %d min): %s",
            token,
            LINK_SECONDS // 60,
            f"{base_url}/dashboard/signin?{urlencode({'token': token})}",
        )

    async def sign_in_by_link(self, request: web.Request) -> web.Response:
        if self.links is None or await self._sign_in_by() != "link":
            raise web.HTTPNotFound()
        if not self.links.redeem(request.query.get("token")):
            return self._login_page("link", status=403, error=self.t("dash_link_used"))
        _session, cookie = await self.auth.new_session()
        response = web.HTTPSeeOther("/dashboard")
        self._cookie(response, SESSION_COOKIE, cookie, SESSION_SECONDS)
        raise response

    async def new_link(self, request: web.Request) -> web.Response:
        """Print a new sign-in link in the operator's log (not on the page: whoever presses
        the button need not be the operator)."""
        if self.links is None or await self._sign_in_by() != "link":
            raise web.HTTPNotFound()
        form = await request.post()
        token = form.get("token")
        if not self.auth.login_token_ok(
            request.cookies.get(LOGIN_COOKIE), token if isinstance(token, str) else None
        ):
            return self._login_page("link", status=400, error=self.t("dash_expired_form"))
        if not self.links.may_issue():
            return self._login_page("link", status=429, error=None, notice=self.t("dash_link_wait"))
        self._print_link(self.palaute.base_url())
        return self._login_page("link", status=200, error=None, notice=self.t("dash_link_printed"))

    async def logout(self, request: web.Request) -> web.Response:
        session = await self._session(request)
        if session is not None:
            try:
                form = await read_form(request)
            except UnreadableForm:
                form = None
            if form is None or not self.auth.csrf_ok(session, form.get("csrf")):
                # Another site's page could post here: only the dashboard's own form signs out.
                return html_response(
                    render(
                        "dashboard_message.html",
                        self.language,
                        message=self.t("dash_signout_expired"),
                    ),
                    status=400,
                )
            await self.auth.end(session)
        response = web.HTTPSeeOther("/dashboard/login")
        response.del_cookie(SESSION_COOKIE, path="/dashboard")
        raise response

    async def _require(self, request: web.Request) -> Session:
        session = await self._session(request)
        if session is None:
            if await self._sign_in_by() == "off":
                raise web.HTTPNotFound(
                    text=render(
                        "dashboard_message.html", self.language, message=self.t("dash_off")
                    ),
                    content_type="text/html",
                )
            raise web.HTTPSeeOther("/dashboard/login")
        return session

    async def followup_action(self, request: web.Request) -> web.Response:
        """Take or resolve a follow-up from the dashboard, as the signed-in account: admins
        only, and only from the dashboard's own form (CSRF token)."""
        session = await self._require(request)
        action = request.match_info["action"]
        if action not in ACTIONS:
            raise web.HTTPNotFound()
        if not session.may_act:
            log.warning("dashboard: viewer %s may not %s follow-ups", session.who, action)
            return self._message(self.t("dash_viewer_only"), status=403)
        try:
            form = await read_form(request)
        except UnreadableForm:
            form = None
        if form is None or not self.auth.csrf_ok(session, form.get("csrf")):
            return self._message(self.t("dash_action_expired"), status=400)
        followup_id = int(request.match_info["followup_id"])
        if await self.palaute.store.followups.get(followup_id) is None:
            return self._message(self.t("dash_no_followup"), status=404)
        await self.palaute.followups.act(followup_id, action, session.who)
        # Done or done already by someone else: either way the page shows who has it now.
        raise web.HTTPSeeOther(f"/dashboard#followup-{followup_id}")

    def _message(self, message: str, *, status: int) -> web.Response:
        return html_response(
            render("dashboard_message.html", self.language, message=message), status=status
        )

    # ------------------------------------------------------------------ pages

    def _filters(self, request: web.Request) -> Filters:
        query = request.query
        try:
            window = int(query.get("window", self.default_window))
        except ValueError:
            window = self.default_window
        if window not in self.windows:
            window = self.default_window
        touchpoint = query.get("touchpoint", "")[:MAX_FILTER_LENGTH]
        prop = query.get("property", "")[:MAX_FILTER_LENGTH]
        name = prop.partition("=")[0]
        if prop and not (name and name.replace("_", "").isalnum()):
            prop = ""
        return Filters(window, touchpoint, prop)

    def _comment_filters(self, request: web.Request) -> CommentFilters:
        query = request.query
        survey = query.get("survey", "")
        return CommentFilters(
            survey=survey if survey in self.config.surveys else "",
            score_min=_score_bound(query.get("score_min", "")),
            score_max=_score_bound(query.get("score_max", "")),
            contains=query.get("q", "").strip()[:MAX_FILTER_LENGTH],
        )

    async def page(self, request: web.Request) -> web.Response:
        session = await self._require(request)
        filters = self._filters(request)
        store = self.palaute.store
        now = self.palaute.clock.now()
        as_of = live_as_of(now, self.config.team.timezone)  # the windows end with today
        window = timedelta(days=filters.window)
        rows = await rolling_trends(
            store,
            self.config.surveys,
            now=as_of,
            window=window,
            min_n=self.config.team.min_n,
            filters=filters.as_mapping(),
            timezone=self.config.team.timezone,
        )
        rows = self.builder.in_config_order(rows)
        period, before = window_periods(as_of, window, self.config.team.timezone)
        comment_filters = self._comment_filters(request)
        comments = await store.reports.comments(
            period.start,
            period.end,
            survey_id=comment_filters.survey or None,
            filters=filters.as_mapping(),
            limit=COMMENTS_SHOWN,
            score_min=comment_filters.score_min,
            score_max=comment_filters.score_max,
            contains=comment_filters.contains,
        )
        choices = await store.reports.dimension_values(before.start, now + 1)
        body = render(
            "dashboard.html",
            self.language,
            filters=filters,
            windows=self.windows,
            touchpoints=choices.get("touchpoint", []),
            properties=[
                (f"{dimension.removeprefix('property:')}={value}", f"{dimension.removeprefix('property:')}: {value}")
                for dimension, values in sorted(choices.items())
                if dimension.startswith("property:")
                for value in values
            ],
            surveys=[self._survey_view(row, filters) for row in rows if row.current.responses or row.previous.responses],
            followups=await self._followups(now, filters),
            comments=[self._comment_view(c) for c in comments],
            comment_filters=comment_filters,
            comment_surveys=[
                (survey_id, survey_title(self.config.surveys, survey_id, self.language))
                for survey_id, survey in self.config.surveys.items()
                if any(q.kind is QuestionKind.TEXT for q in survey.questions)
            ],
            updated=datetime.fromtimestamp(now, self.zone).strftime("%d.%m.%Y %H:%M"),
            timezone=self.config.team.timezone,
            csrf=session.csrf,
            signed_in_as=session.who,
            role=session.role.value,
            may_act=session.may_act,
        )  # fmt: skip
        return html_response(body)

    def _survey_view(self, row: TrendRow, filters: Filters) -> SurveyView:
        headline = row.headline
        title = survey_title(self.config.surveys, row.survey, self.language)
        view = SurveyView(
            id=row.survey,
            title=title,
            label=metric_label(headline.kind, headline.question_id) if headline else "",
            value="–",
            margin="",
            n=row.current.n,
            enough=row.enough,
            note="",
            trend="",
            trend_class="few",
            response_rate=format_rate(row.current.response_rate),
            comment_rate=format_rate(row.current.comment_rate),
            invitations=row.current.invitations_sent,
            responses=row.current.responses,
            chart_url=f"/dashboard/chart.png?{filters.query(survey=row.survey)}",
            phone_chart_url=f"/dashboard/chart.png?{filters.query(survey=row.survey, size='phone')}",
        )
        if headline is not None:
            if headline.enough:
                view.value = format_value(headline.kind, headline.current.value)
                view.margin = format_uncertainty(headline.current)
            else:
                view.note = format_score(headline, self.language)
            view.trend = format_trend(headline, self.language)
            view.trend_class = _trend_class(headline)
        if len(row.questions) > 1:
            view.questions = [
                QuestionView(
                    label=metric_label(q.kind, q.question_id),
                    n=q.current.n,
                    value=(format_shown(q.current) if q.enough else self.t("report_trend_too_few")),
                    trend=format_trend(q, self.language),
                    trend_class=_trend_class(q),
                )
                for q in row.questions
            ]
        return view

    async def _followups(self, now: float, filters: Filters) -> list[dict[str, str]]:
        views = []
        unresolved = self.palaute.store.followups.unresolved
        for followup in await unresolved(limit=50, filters=filters.as_mapping()):
            survey = self.config.surveys.get(followup.survey_id)
            where = followup.touchpoint
            if followup.properties:
                where += f" · {properties_text(followup.properties)}"
            views.append(
                {
                    "id": str(followup.id),
                    "opened": datetime.fromtimestamp(followup.created_at, self.zone).strftime("%d.%m. %H:%M"),
                    "age": format_age(now - followup.created_at, self.language),
                    "overdue": "overdue"
                    if now - followup.created_at > self.config.team.followup_overdue_after.total_seconds()
                    else "",
                    "survey": survey_title(self.config.surveys, followup.survey_id, self.language),
                    "score": score_text(followup),
                    "where": where,
                    "contact": contact_text(followup, survey, self.language),
                    "comment": followup.comment or "",
                    "status": followup_status(followup, self.language, self.zone),
                    "claimed": "yes" if followup.claimed_at is not None else "",
                }
            )  # fmt: skip
        return views

    def _comment_view(self, comment: Comment) -> dict[str, str]:
        where = comment.touchpoint
        if comment.properties:
            where += f" · {properties_text(comment.properties)}"
        return {
            "when": datetime.fromtimestamp(comment.answered_at, self.zone).strftime("%d.%m. %H:%M"),
            "survey": survey_title(self.config.surveys, comment.survey_id, self.language),
            "score": scores_text(comment.scores),
            "where": where,
            "text": comment.text,
            "response": f"/dashboard/response/{comment.invitation_id}",
        }  # fmt: skip

    async def response(self, request: web.Request) -> web.Response:
        """One response: every question the customer was asked and what they answered."""
        await self._require(request)
        store = self.palaute.store
        invitation = await store.invitations.get(int(request.match_info["invitation_id"]))
        answers, skipped = (
            await store.answers.for_invitation(invitation.id) if invitation else ({}, set())
        )
        if invitation is None or not (answers or skipped):
            return html_response(
                render("dashboard_message.html", self.language, message=self.t("dash_no_response")),
                status=404,
            )
        survey = self.config.surveys.get(invitation.survey_id)
        language = invitation.language or self.language
        rows = []
        for question in survey.questions if survey else ():
            if question.id in answers:
                shown = self._answer_text(question, answers[question.id], language)
            elif question.id in skipped:
                shown = self.t("dash_skipped")
            else:
                continue
            asked = resolve(question.text, language, survey.default_language if survey else "en")
            with contextlib.suppress(KeyError, ValueError, IndexError):
                asked = render_text(asked, invitation.properties)
            rows.append((asked, shown))
        where = invitation.touchpoint
        if invitation.properties:
            where += f" · {properties_text(invitation.properties)}"
        answered = invitation.completed_at or invitation.sent_at or invitation.due_at
        body = render(
            "dashboard_response.html",
            self.language,
            title=self.t("dash_response_title", id=invitation.id),
            survey=survey_title(self.config.surveys, invitation.survey_id, self.language),
            where=where,
            channel=invitation.channel or "",
            when=datetime.fromtimestamp(answered, self.zone).strftime("%d.%m.%Y %H:%M"),
            answers=rows,
        )
        return html_response(body)

    def _answer_text(self, question: Question, value: AnswerValue, language: str) -> str:
        if isinstance(value, bool):
            return self.t("yes" if value else "no")
        if question.kind is QuestionKind.CHOICE:
            for choice in question.choices:
                if choice.value == value:
                    return resolve(choice.label, language, self.language)
        return str(value)

    async def chart(self, request: web.Request) -> web.Response:
        await self._require(request)
        filters = self._filters(request)
        survey_id = request.query.get("survey", "")
        if survey_id not in self.config.surveys:
            raise web.HTTPNotFound(text="unknown survey")
        # Today is the last point, as it is the last day of the scores above the chart.
        today = datetime.fromtimestamp(self.palaute.clock.now(), self.zone).date()
        smooth = min(7, filters.window)
        series = await self.builder.chart_data(
            today, [survey_id], days=filters.window, smooth=smooth, filters=filters.as_mapping()
        )
        labels = self.builder.chart_labels(filters.window, smooth)
        phone = request.query.get("size") == "phone"
        png = await chart_png(
            series,
            title=labels["title"],
            labels=labels,
            width=PHONE_CHART_WIDTH if phone else CHART_WIDTH,
            dpi=PHONE_CHART_DPI if phone else 100,
        )
        return web.Response(
            body=png,
            content_type="image/png",
            headers={"Cache-Control": "private, max-age=60", "X-Content-Type-Options": "nosniff"},
        )

    async def stylesheet(self, _request: web.Request) -> web.Response:
        return web.Response(
            body=self.css,
            content_type="text/css",
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )


def install(app: web.Application, palaute: DashboardServices) -> Dashboard:
    dashboard = Dashboard(palaute)
    app.add_routes(dashboard.routes())
    return dashboard
