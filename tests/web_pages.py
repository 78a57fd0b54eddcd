"""A cookie-keeping HTTP client for survey pages, reading them the way a person would."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from urllib.parse import urlsplit

import aiohttp

from bot.app import PalauteApp
from bot.channels.web.channel import WebChannel
from bot.channels.web.links import LinkBuilder


@dataclass
class SurveyPage:
    status: int
    html: str
    bubbles: list[tuple[str, str]] = field(default_factory=list)
    """(classes, text) of every chat bubble, top to bottom."""
    buttons: list[tuple[str, str]] = field(default_factory=list)
    """(name, value) of every submit button."""
    hidden: dict[str, str] = field(default_factory=dict)
    action: str | None = None
    """Where the answer form posts."""
    back_action: str | None = None
    """Where "change my previous answer" posts, when the page offers it."""
    back_label: str | None = None
    textarea: bool = False
    heading: str = ""
    error: str | None = None
    lang: str | None = None

    @property
    def question(self) -> str | None:
        current = [text for classes, text in self.bubbles if "current" in classes]
        return current[0] if current else None

    @property
    def thanks(self) -> str | None:
        found = [text for classes, text in self.bubbles if "thanks" in classes]
        return found[0] if found else None

    @property
    def answers(self) -> list[str]:
        return [text for classes, text in self.bubbles if "me" in classes.split()]

    @property
    def choices(self) -> list[str]:
        return [value for name, value in self.buttons if name == "choice"]


class _Reader(HTMLParser):
    def __init__(self, page: SurveyPage) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self._capture: str | None = None
        self._classes = ""
        self._text: list[str] = []
        self._hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        classes = attributes.get("class", "")
        if tag == "html":
            self.page.lang = attributes.get("lang")
        if tag == "li" and "bubble" in classes:
            self._capture, self._classes, self._text = "bubble", classes, []
        elif attributes.get("id") == "notice-title":
            self._capture, self._text = "heading", []
        elif tag == "p" and "error" in classes.split():
            self._capture, self._text = "error", []
        elif tag == "span" and "visually-hidden" in classes and self._capture == "bubble":
            self._hidden_depth = 1
        if tag == "button":
            self.page.buttons.append((attributes.get("name", ""), attributes.get("value", "")))
        if tag == "input" and attributes.get("type") == "hidden":
            self.page.hidden[attributes.get("name", "")] = attributes.get("value", "")
        if tag == "form" and "back" in classes.split():
            self.page.back_action = attributes.get("action")
            self._capture, self._text = "back", []
        elif tag == "form" and self.page.action is None:
            self.page.action = attributes.get("action")
        if tag == "textarea":
            self.page.textarea = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "span" and self._hidden_depth:
            self._hidden_depth = 0
            return
        text = "".join(self._text).strip()
        if tag == "li" and self._capture == "bubble":
            self.page.bubbles.append((self._classes, text))
        elif tag in ("h1", "h2") and self._capture == "heading":
            self.page.heading = text
        elif tag == "p" and self._capture == "error":
            self.page.error = text
        elif tag == "form" and self._capture == "back":
            self.page.back_label = text
        else:
            return
        self._capture = None

    def handle_data(self, data: str) -> None:
        if self._capture and not self._hidden_depth:
            self._text.append(data)


def read_page(status: int, html: str) -> SurveyPage:
    page = SurveyPage(status, html)
    _Reader(page).feed(html)
    return page


class Browser:
    """One browser: its own cookies, optionally a language and a fixed client address."""

    def __init__(
        self, base_url: str, language: str = "en", headers: dict[str, str] | None = None
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Accept-Language": language, **(headers or {})}
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.page: SurveyPage | None = None

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.session.close()

    def _url(self, url: str) -> str:
        """On this test server, whatever host a link names (links say localhost, tests 127.0.0.1)."""
        parts = urlsplit(url)
        return f"{self.base_url}{parts.path}" + (f"?{parts.query}" if parts.query else "")

    async def open(self, url: str) -> SurveyPage:
        async with self.session.get(self._url(url), headers=self.headers) as response:
            self.page = read_page(response.status, await response.text())
        return self.page

    async def post(
        self,
        fields: dict[str, str],
        *,
        url: str | None = None,
        fragment: bool = False,
        follow: bool = True,
    ) -> SurveyPage:
        action = url or (self.page.action if self.page else None)
        assert action, "no form on the page"
        target = self._url(action)
        headers = {**self.headers, **({"X-Palaute-Fragment": "1"} if fragment else {})}
        async with self.session.post(
            target, data=fields, headers=headers, allow_redirects=follow
        ) as response:
            self.page = read_page(response.status, await response.text())
            self.page.hidden.setdefault("_location", response.headers.get("Location", ""))
        return self.page

    async def back(self, *, fragment: bool = False) -> SurveyPage:
        """Press "change my previous answer"."""
        assert self.page is not None and self.page.back_action, "no way back on this page"
        fields = {k: v for k, v in self.page.hidden.items() if k in ("csrf", "q")}
        return await self.post(fields, url=self.page.back_action, fragment=fragment)

    async def answer(
        self, value: str, *, typed: bool = False, fragment: bool = False
    ) -> SurveyPage:
        """Tap the button with this value, or type the text and press Send."""
        assert self.page is not None
        fields = {k: v for k, v in self.page.hidden.items() if k in ("csrf", "q")}
        fields["text" if typed else "choice"] = value
        return await self.post(fields, fragment=fragment)


def web_channel(app: PalauteApp) -> WebChannel:
    channel = app.channels["web"]
    assert isinstance(channel, WebChannel)
    return channel


def links(app: PalauteApp) -> LinkBuilder:
    """Survey links on the address the app really listens on."""
    return web_channel(app).links()
