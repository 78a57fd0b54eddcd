"""`GET /dashboard`: scores, trends, charts, open follow-ups and comments, behind a password.

Server-rendered with the shared Jinja2 environment (bot.http.pages); no scripts, and nothing
from outside palaute. Filters are a plain GET form, so every view is a shareable URL.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from bot.alerts import contact_text, followup_status, score_text
from bot.http.dashboard_auth import LOGIN_COOKIE, SESSION_COOKIE, SESSION_SECONDS, DashboardAuth
from bot.http.pages import STATIC_DIR, html_response, render
from bot.reports.chart import chart_png
from bot.reports.format import (
    format_rate,
    format_score,
    format_shown,
    format_trend,
    format_uncertainty,
    format_value,
    metric_label,
)
from bot.reports.summary import SummaryBuilder, format_age, properties_text, survey_title
from bot.scores import (
    QuestionTrend,
    Trend,
    TrendRow,
    live_as_of,
    rolling_trends,
    window_periods,
)
from conversations.texts import text

if TYPE_CHECKING:
    from bot.app import PalauteApp

CSS_FILE = "dashboard.css"
WINDOW_CHOICES = (7, 30, 90)
CHART_WIDTH = 6.4
"""Inches at 100 dpi: the chart's text stays readable at the width of a survey card."""
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
    questions: list[QuestionView] = field(default_factory=list)


def _trend_class(question: QuestionTrend) -> str:
    return {
        Trend.UP: "up",
        Trend.DOWN: "down",
        Trend.NO_CLEAR_CHANGE: "flat",
        Trend.TOO_FEW: "few",
    }[question.trend]


class Dashboard:
    def __init__(self, palaute: PalauteApp) -> None:
        self.palaute = palaute
        self.config = palaute.config
        self.language = palaute.config.defaults.language
        self.zone = ZoneInfo(palaute.config.team.timezone)
        password = palaute.config.server.dashboard_password
        self.auth = DashboardAuth(palaute.signer, password) if password else None
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
            web.get("/dashboard/chart.png", self.chart),
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

    def _session(self, request: web.Request) -> Any:
        return self.auth.session(request.cookies.get(SESSION_COOKIE)) if self.auth else None

    async def login_form(self, request: web.Request) -> web.Response:
        if self.auth is None:
            return self._off()
        if self._session(request) is not None:
            raise web.HTTPSeeOther("/dashboard")
        return self._login_page(status=200, error=None)

    def _login_page(self, *, status: int, error: str | None) -> web.Response:
        assert self.auth is not None
        nonce = secrets.token_urlsafe(16)
        body = render(
            "dashboard_login.html", self.language, error=error, token=self.auth.login_token(nonce)
        )
        response = html_response(body, status=status)
        self._cookie(response, LOGIN_COOKIE, nonce, 3600)
        return response

    async def login(self, request: web.Request) -> web.Response:
        if self.auth is None:
            return self._off()
        address = request.remote or "?"
        if self.auth.blocked(address):
            return self._login_page(status=429, error=self.t("dash_too_many"))
        form = await request.post()
        token, password = form.get("token"), form.get("password")
        if not self.auth.login_token_ok(
            request.cookies.get(LOGIN_COOKIE), token if isinstance(token, str) else None
        ):
            return self._login_page(status=400, error=self.t("dash_expired_form"))
        if not isinstance(password, str) or not self.auth.password_matches(password):
            self.auth.failed(address)
            return self._login_page(status=401, error=self.t("dash_wrong_password"))
        _session, cookie = self.auth.new_session()
        response = web.HTTPSeeOther("/dashboard")
        self._cookie(response, SESSION_COOKIE, cookie, SESSION_SECONDS)
        response.del_cookie(LOGIN_COOKIE, path="/dashboard")
        raise response

    async def logout(self, request: web.Request) -> web.Response:
        session = self._session(request)
        form = await request.post()
        if self.auth is not None and session is not None and form.get("csrf") == session.csrf:
            self.auth.revoke(session)
        response = web.HTTPSeeOther("/dashboard/login")
        response.del_cookie(SESSION_COOKIE, path="/dashboard")
        raise response

    def _require(self, request: web.Request) -> Any:
        if self.auth is None:
            raise web.HTTPNotFound(text=self.t("dash_off"))
        session = self._session(request)
        if session is None:
            raise web.HTTPSeeOther("/dashboard/login")
        return session

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

    async def page(self, request: web.Request) -> web.Response:
        if self.auth is None:
            return self._off()
        session = self._require(request)
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
        comments = await store.reports.comments(
            period.start, period.end, filters=filters.as_mapping(), limit=COMMENTS_SHOWN
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
            updated=datetime.fromtimestamp(now, self.zone).strftime("%d.%m.%Y %H:%M"),
            timezone=self.config.team.timezone,
            csrf=session.csrf,
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
                }
            )  # fmt: skip
        return views

    def _comment_view(self, comment: Any) -> dict[str, str]:
        survey = self.config.surveys.get(comment.survey_id)
        kind = survey.headline.kind.value if survey and survey.headline else ""
        score = (
            f"{metric_label(kind, comment.survey_id)} {comment.score}"
            if comment.score is not None
            else ""
        )
        where = comment.touchpoint
        if comment.properties:
            where += f" · {properties_text(comment.properties)}"
        return {
            "when": datetime.fromtimestamp(comment.answered_at, self.zone).strftime("%d.%m. %H:%M"),
            "survey": survey_title(self.config.surveys, comment.survey_id, self.language),
            "score": score,
            "where": where,
            "text": comment.text,
        }  # fmt: skip

    async def chart(self, request: web.Request) -> web.Response:
        self._require(request)
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
        png = await chart_png(series, title=labels["title"], labels=labels, width=CHART_WIDTH)
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


def install(app: web.Application, palaute: PalauteApp) -> Dashboard:
    dashboard = Dashboard(palaute)
    app.add_routes(dashboard.routes())
    return dashboard
