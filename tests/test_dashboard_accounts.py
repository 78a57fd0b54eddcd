"""Named dashboard accounts: `palaute user`, signing in by name, roles, and who took a follow-up."""
# ruff: noqa: F811  (the fake_telegram fixture is imported as a name, then used as an argument)

from __future__ import annotations

import asyncio
import io
import re
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from bot.app import PalauteApp
from bot.cli import main
from bot.delivery.triggers import ContactSpec, TriggerRequest
from conversations.builtin import builtin_surveys
from storage.invitations import NewInvitation
from storage.records import InvitationState
from tests.conftest import AppFactory, make_config
from tests.fakes.telegram_api import FakeTelegram, fake_telegram  # noqa: F401
from tests.telegram_helpers import MovableClock, keyboard_rows, telegram_config, wait_for_text
from tests.test_alerts_telegram import CLAIM, RESOLVE, TEAM, _shown, _wait_in_group
from tests.test_dashboard import CHROMIUM, CHROMIUM_ARGS, PASSWORD, _toml

MAIJA_PASSWORD = "maija's long passphrase"
VILLE_PASSWORD = "ville-watches-only-42"


class _Terminal(io.StringIO):
    """Standard input that says it is a terminal (getpass itself is replaced in these tests)."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def config_file(tmp_path: Path, db_path: Path) -> Path:
    path = tmp_path / "palaute.toml"
    path.write_text(f'[storage]\npath = "{db_path}"\n{_toml()}', encoding="utf-8")
    return path


@pytest.fixture
def user(
    config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Any]:
    """`palaute user ...` with `stdin` as its standard input: (exit code, stdout, stderr)."""

    def run(*args: str, stdin: str = "", terminal: bool = False) -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", _Terminal(stdin) if terminal else io.StringIO(stdin))
        capsys.readouterr()
        code = main(["user", *args, "--config", str(config_file)])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run


def _add(user: Any, name: str, password: str, role: str) -> None:
    code, out, err = user("add", name, "--role", role, "--password-stdin", stdin=password + "\n")
    assert (code, err) == (0, ""), err
    assert f'Added {role} "{name}"' in out


def _base(app: PalauteApp) -> str:
    return f"http://127.0.0.1:{app.http.port}"


async def _sign_in(
    client: aiohttp.ClientSession, base: str, password: str, name: str | None = None
) -> aiohttp.ClientResponse:
    page = await (await client.get(f"{base}/dashboard/login")).text()
    match = re.search(r'name="token" value="([^"]+)"', page)
    assert match is not None
    form = {"token": match.group(1), "password": password}
    if name is not None:
        form["name"] = name
    return await client.post(f"{base}/dashboard/login", data=form, allow_redirects=False)


async def _page(client: aiohttp.ClientSession, base: str) -> tuple[int, str]:
    async with client.get(f"{base}/dashboard", allow_redirects=False) as response:
        return response.status, await response.text()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


async def _open_followup(app: PalauteApp) -> int:
    """A detractor's answer and the follow-up it opened."""
    store = app.store
    now = app.clock.now()
    async with store.database.transaction() as connection:
        contact = await store.contacts.ensure(
            connection, channel="telegram", address="4242", now=now
        )
        invitation_id = await store.invitations.insert(
            connection,
            NewInvitation("order_delivered", "nps", contact, "telegram", now, {},
                          InvitationState.SENT, None, now, None, None),
            now=now,
        )  # fmt: skip
        invitation = await store.invitations.get(invitation_id)
        assert invitation is not None
        question = builtin_surveys()["nps"].questions[0]
        await store.answers.insert(connection, invitation, "telegram", question, 1, now=now)
    followup_id = await app.followups.open(invitation_id, question.id)
    assert followup_id is not None
    return followup_id


# ---------------------------------------------------------------------- the command


def test_user_add_list_password_and_remove(user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _err = user("list")
    assert code == 0 and "No accounts" in out
    _add(user, "Maija", MAIJA_PASSWORD, "admin")
    _add(user, "Ville", VILLE_PASSWORD, "viewer")

    for name in ("Maija", "maija"):
        code, out, err = user("add", name, "--password-stdin", stdin=MAIJA_PASSWORD + "\n")
        assert (code, out) == (1, "")
        assert err == f'palaute user add: error: an account named "{name}" exists already\n'
    for password, problem in (("", "the password is empty"), ("short", "too short")):
        code, _out, err = user("add", "Kalle", "--password-stdin", stdin=password + "\n")
        assert code == 2 and problem in err and err.count("\n") == 1
    code, _out, err = user("add", "shared", "--password-stdin", stdin=MAIJA_PASSWORD + "\n")
    assert code == 2 and "kept for the shared dashboard password" in err
    code, _out, err = user("add", "Kalle")  # no terminal to ask on, and no --password-stdin
    assert code == 2 and "--password-stdin" in err

    # On a terminal: asked twice, without echo (getpass); two different answers change nothing.
    code, _out, err = _on_terminal(
        user, monkeypatch, "add", "Kalle", answers=["kalle's passphrase", "kalle's passfrase"]
    )
    assert code == 2 and "the two passwords differ" in err
    code, out, err = _on_terminal(
        user, monkeypatch, "add", "Kalle", "--role", "admin", answers=["kalle's passphrase"] * 2
    )
    assert code == 0 and 'Added admin "Kalle"' in out

    code, out, _err = user("list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["NAME", "ROLE", "CREATED", "LAST", "SIGN-IN"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["Kalle", "admin"], ["Maija", "admin"], ["Ville", "viewer"],
    ]  # fmt: skip
    assert all(line.endswith("never") for line in lines[1:])

    code, _out, err = user("password", "Nobody", "--password-stdin", stdin=MAIJA_PASSWORD + "\n")
    assert (code, err) == (1, 'palaute user password: error: no account named "Nobody"\n')
    code, out, _err = user("password", "ville", "--password-stdin", stdin="a new long one\n")
    assert code == 0 and 'New password set for "ville"' in out
    code, _out, err = user("remove", "Nobody")
    assert (code, err) == (1, 'palaute user remove: error: no account named "Nobody"\n')
    code, out, _err = user("remove", "kalle")
    assert code == 0 and "Removed" in out
    code, out, _err = user("list")
    assert "Kalle" not in out and "Maija" in out


def _on_terminal(
    user: Any, monkeypatch: pytest.MonkeyPatch, *args: str, answers: list[str]
) -> tuple[int, str, str]:
    """`palaute user ...` typed on a terminal: the terminal's getpass returns `answers` in turn."""
    typed = iter(answers)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(typed))
    result: tuple[int, str, str] = user(*args, terminal=True)
    return result


def test_the_database_keeps_no_password(user: Any, db_path: Path) -> None:
    _add(user, "Maija", MAIJA_PASSWORD, "admin")
    _add(user, "Ville", VILLE_PASSWORD, "viewer")
    user("password", "Ville", "--password-stdin", stdin="another long password\n")
    raw = b"".join(
        path.read_bytes() for path in db_path.parent.iterdir() if path.name.startswith(db_path.name)
    )
    assert b"Maija" in raw  # the accounts are there...
    for password in (MAIJA_PASSWORD, VILLE_PASSWORD, "another long password"):
        assert password.encode() not in raw  # ...their passwords are not
    assert raw.count(b"scrypt$16384$8$1$") >= 2


# ---------------------------------------------------------------------- the dashboard


async def test_two_accounts_sign_in_by_name_and_the_shared_password_is_refused(
    app_factory: AppFactory, db_path: Path, user: Any
) -> None:
    await asyncio.to_thread(_add, user, "Maija", MAIJA_PASSWORD, "admin")
    await asyncio.to_thread(_add, user, "Ville", VILLE_PASSWORD, "viewer")
    app = await app_factory(make_config(_toml(), db_path), channels={})
    base = _base(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        form = await (await client.get(f"{base}/dashboard/login")).text()
        assert 'name="name"' in form and 'autocomplete="username"' in form
        for name, password in (
            ("Maija", VILLE_PASSWORD),  # another account's password
            ("Nobody", MAIJA_PASSWORD),
            (None, PASSWORD),  # the shared password, once accounts exist
            ("shared", PASSWORD),
        ):
            refused = await _sign_in(client, base, password, name)
            assert refused.status == 401 and "Wrong name or password." in await refused.text()
        assert (await _page(client, base))[0] == 303
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as maija, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as ville:  # fmt: skip
        assert (await _sign_in(maija, base, MAIJA_PASSWORD, "maija")).status == 303
        assert (await _sign_in(ville, base, VILLE_PASSWORD, " Ville ")).status == 303
        status, html = await _page(maija, base)
        assert status == 200 and "Signed in as Maija (admin)" in html
        status, html = await _page(ville, base)
        assert status == 200 and "Signed in as Ville (viewer)" in html
    _code, out, _err = await asyncio.to_thread(user, "list")
    assert not any(line.endswith("never") for line in out.splitlines()[1:])


async def test_a_viewer_may_not_claim_and_an_admins_claim_records_their_name(
    app_factory: AppFactory, db_path: Path, user: Any
) -> None:
    await asyncio.to_thread(_add, user, "Maija", MAIJA_PASSWORD, "admin")
    await asyncio.to_thread(_add, user, "Ville", VILLE_PASSWORD, "viewer")
    app = await app_factory(make_config(_toml(), db_path), channels={})
    base = _base(app)
    followup_id = await _open_followup(app)
    claim = f"{base}/dashboard/followup/{followup_id}/claim"
    resolve = f"{base}/dashboard/followup/{followup_id}/resolve"
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as ville:
        await _sign_in(ville, base, VILLE_PASSWORD, "Ville")
        _status, html = await _page(ville, base)
        assert f'id="followup-{followup_id}"' in html and "Nobody has taken" in html
        assert "/claim" not in html and "/resolve" not in html  # no buttons for a viewer...
        for url in (claim, resolve):  # ...and no way around it
            refused = await ville.post(url, data={"csrf": _csrf(html)}, allow_redirects=False)
            assert refused.status == 403 and "ask an admin" in await refused.text()
    followup = await app.store.followups.get(followup_id)
    assert followup is not None and followup.owner is None and followup.resolved_at is None

    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as maija:
        await _sign_in(maija, base, MAIJA_PASSWORD, "Maija")
        _status, html = await _page(maija, base)
        assert f'action="/dashboard/followup/{followup_id}/claim"' in html
        for form in ({}, {"csrf": "forged"}):  # what another site's page could post
            refused = await maija.post(claim, data=form, allow_redirects=False)
            assert refused.status == 400
        assert (await app.store.followups.get(followup_id)).owner is None  # type: ignore[union-attr]
        taken = await maija.post(claim, data={"csrf": _csrf(html)}, allow_redirects=False)
        assert taken.status == 303
        _status, html = await _page(maija, base)
        assert "Maija is following up" in html
        assert f'action="/dashboard/followup/{followup_id}/claim"' not in html
        done = await maija.post(resolve, data={"csrf": _csrf(html)}, allow_redirects=False)
        assert done.status == 303
        _status, html = await _page(maija, base)
        assert f'id="followup-{followup_id}"' not in html  # no longer open
    followup = await app.store.followups.get(followup_id)
    assert followup is not None
    assert (followup.owner, followup.resolved_by) == ("Maija", "Maija")


async def test_removing_an_account_or_its_password_ends_its_sessions(
    app_factory: AppFactory, db_path: Path, user: Any
) -> None:
    await asyncio.to_thread(_add, user, "Maija", MAIJA_PASSWORD, "admin")
    await asyncio.to_thread(_add, user, "Ville", VILLE_PASSWORD, "viewer")
    app = await app_factory(make_config(_toml(), db_path), channels={})
    base = _base(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as maija, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as ville:  # fmt: skip
        await _sign_in(maija, base, MAIJA_PASSWORD, "Maija")
        await _sign_in(ville, base, VILLE_PASSWORD, "Ville")
        assert (await _page(ville, base))[0] == 200
        code, _out, _err = await asyncio.to_thread(user, "remove", "Ville")
        assert code == 0
        assert (await _page(ville, base))[0] == 303  # signed out at once, while palaute runs
        assert (await _sign_in(ville, base, VILLE_PASSWORD, "Ville")).status == 401
        assert (await _page(maija, base))[0] == 200  # the others stay signed in
        code, _out, _err = await asyncio.to_thread(
            user, "password", "Maija", "--password-stdin", stdin="maija's new passphrase\n"
        )
        assert code == 0
        assert (await _page(maija, base))[0] == 303
        assert (await _sign_in(maija, base, MAIJA_PASSWORD, "Maija")).status == 401
        assert (await _sign_in(maija, base, "maija's new passphrase", "Maija")).status == 303


async def test_the_shared_password_is_an_admin_called_shared_until_the_first_account(
    app_factory: AppFactory, db_path: Path, user: Any
) -> None:
    app = await app_factory(make_config(_toml(), db_path), channels={})
    base = _base(app)
    followup_id = await _open_followup(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        form = await (await client.get(f"{base}/dashboard/login")).text()
        assert 'name="name"' not in form  # as before: the password alone
        assert (await _sign_in(client, base, PASSWORD)).status == 303
        _status, html = await _page(client, base)
        assert "Signed in as shared (admin)" in html
        taken = await client.post(
            f"{base}/dashboard/followup/{followup_id}/claim",
            data={"csrf": _csrf(html)},
            allow_redirects=False,
        )
        assert taken.status == 303
        assert "shared is following up" in (await _page(client, base))[1]

        await asyncio.to_thread(_add, user, "Maija", MAIJA_PASSWORD, "admin")
        # The first account ends the shared sessions and the shared password's use.
        assert (await _page(client, base))[0] == 303
        refused = await _sign_in(client, base, PASSWORD)
        assert refused.status == 401
        assert (await _sign_in(client, base, MAIJA_PASSWORD, "Maija")).status == 303


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip(
        "playwright.async_api", reason="the browser tests need the playwright package ('.[dev]')"
    )
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@pytest.mark.browser
async def test_two_people_in_two_browsers(
    app_factory: AppFactory, db_path: Path, user: Any, chromium: Any
) -> None:
    await asyncio.to_thread(_add, user, "Maija", MAIJA_PASSWORD, "admin")
    await asyncio.to_thread(_add, user, "Ville", VILLE_PASSWORD, "viewer")
    app = await app_factory(make_config(_toml(), db_path), channels={})
    base = _base(app)
    followup_id = await _open_followup(app)
    pages = {}
    for name, password in (("Maija", MAIJA_PASSWORD), ("Ville", VILLE_PASSWORD)):
        context = await chromium.new_context()  # cookies of their own
        page = await context.new_page()
        await page.goto(f"{base}/dashboard/login")
        await page.fill("#name", name)
        await page.fill("#password", password)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{base}/dashboard")
        pages[name] = page
    row = f"#followup-{followup_id}"
    assert "Signed in as Ville (viewer)" in await pages["Ville"].inner_text(".bar")
    assert await pages["Ville"].locator(f"{row} button").count() == 0
    assert "Signed in as Maija (admin)" in await pages["Maija"].inner_text(".bar")
    await pages["Maija"].click(f"{row} button:has-text('Take it')")
    await pages["Maija"].wait_for_url(f"{base}/dashboard#followup-{followup_id}")
    assert "Maija is following up" in await pages["Maija"].inner_text(row)
    await pages["Ville"].reload()
    assert "Maija is following up" in await pages["Ville"].inner_text(row)
    await pages["Maija"].click(f"{row} button:has-text('Resolved')")
    await pages["Maija"].wait_for_url(f"{base}/dashboard#followup-{followup_id}")
    assert await pages["Maija"].locator(row).count() == 0
    followup = await app.store.followups.get(followup_id)
    assert followup is not None and followup.resolved_by == "Maija"


async def test_a_claim_on_the_dashboard_shows_in_the_telegram_alert(
    app_factory: AppFactory, fake_telegram: FakeTelegram, db_path: Path, user: Any
) -> None:
    fake = fake_telegram
    await asyncio.to_thread(_add, user, "Maija", MAIJA_PASSWORD, "admin")
    app = await app_factory(
        telegram_config(fake, db_path, TEAM, server="port = 0"), clock=MovableClock()
    )
    customer = fake.user(501, first_name="Kaisa")
    await app.triggers.trigger(
        TriggerRequest("delivery", ContactSpec("telegram", str(customer.id)))
    )
    await app.invitations.tick()
    question = await wait_for_text(fake, customer, "How likely are you to recommend our delivery")
    fake.push_callback(customer, question, question.callback_data_for("3"))
    alert = await _wait_in_group(fake, "Detractor #1: NPS 3 · Delivery")
    assert keyboard_rows(alert) == [[CLAIM, RESOLVE]]

    base = _base(app)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as maija:
        assert (await _sign_in(maija, base, MAIJA_PASSWORD, "Maija")).status == 303
        _status, html = await _page(maija, base)
        taken = await maija.post(
            f"{base}/dashboard/followup/1/claim", data={"csrf": _csrf(html)}, allow_redirects=False
        )
        assert taken.status == 303
        # The group's alert follows, as it does for a press of its own button.
        await fake.wait_for(lambda: "Maija is following up" in _shown(alert), timeout=10)
        assert keyboard_rows(alert) == [[RESOLVE]]
        _status, html = await _page(maija, base)
        done = await maija.post(
            f"{base}/dashboard/followup/1/resolve",
            data={"csrf": _csrf(html)},
            allow_redirects=False,
        )
        assert done.status == 303
        await fake.wait_for(lambda: "Resolved by Maija" in _shown(alert), timeout=10)
        assert alert.reply_markup is None


async def test_accounts_replace_sign_in_links_and_turn_on_a_public_dashboard(
    app_factory: AppFactory, db_path: Path, user: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Loopback without a password: sign-in links, until the first account.
    local = await app_factory(make_config("[server]\nport = 0\n", db_path), channels={})
    async with aiohttp.ClientSession() as client:
        form = await (await client.get(f"{_base(local)}/dashboard/login")).text()
        assert "sign-in link" in form and 'name="password"' not in form
        await asyncio.to_thread(_add, user, "Maija", MAIJA_PASSWORD, "admin")
        form = await (await client.get(f"{_base(local)}/dashboard/login")).text()
        assert 'name="name"' in form and 'name="password"' in form
        link = await client.get(f"{_base(local)}/dashboard/signin?token=x", allow_redirects=False)
        assert link.status == 404
    await local.stop()

    # Any host, no password: on with accounts; the start says how to sign in, and prints no link.
    caplog.set_level("INFO")
    public = await app_factory(
        make_config('[server]\nhost = "0.0.0.0"\nport = 0\n', db_path), channels={}
    )
    assert "sign in with a palaute user account" in caplog.text
    assert "/dashboard/signin?token=" not in caplog.text
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as maija:
        assert (await _sign_in(maija, _base(public), MAIJA_PASSWORD, "Maija")).status == 303
        assert "Signed in as Maija (admin)" in (await _page(maija, _base(public)))[1]
