"""`palaute link` and `palaute trigger --print-links`: links that open the right survey, QR codes."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from bot.cli import main
from bot.qr import PNG_BOX_PIXELS, qr_matrix
from bot.tokens import TokenKind, TokenSigner
from storage.store import Store
from tests.conftest import AppFactory
from tests.web_pages import Browser


@pytest.fixture
def config_file(tmp_path: Path, db_path: Path) -> Path:
    path = tmp_path / "palaute.toml"
    path.write_text(f'[storage]\npath = "{db_path}"\n', encoding="utf-8")
    return path


def palaute(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def palaute_async(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The CLI beside a running app (its own event loop, in a thread)."""
    return await asyncio.to_thread(palaute, capsys, *args)


def test_prints_the_open_link_of_a_touchpoint(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = palaute(capsys, "link", "nps", "--config", str(config_file))
    assert code == 0
    (url,) = out.splitlines()
    assert url.startswith("http://localhost:8080/s/s-nps-")
    assert "public_url is not set" in err


async def test_the_printed_link_opens_the_survey_on_the_running_server(
    app_factory: AppFactory, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await app_factory()
    code, out, _ = await palaute_async(
        capsys, "link", "event", "--config", str(config_file), "-p", "event_name=Kirppis",
        "--audience", "market-2026-11",
    )  # fmt: skip
    assert code == 0
    url = out.strip()
    assert "p" in parse_qs(urlsplit(url).query)
    async with Browser(f"http://127.0.0.1:{app.http.port}") as browser:
        page = await browser.open(url)
        assert page.status == 200
        assert page.bubbles[0][1] == "Thank you for being part of Kirppis! Three quick questions."
        await browser.answer("5")
    (member,) = await app.store.audiences.members("market-2026-11")
    assert member.channel == "web"


def test_writes_a_png_qr_code_of_the_link(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "market.png"
    code, out, err = palaute(
        capsys, "link", "event", "-p", "event_name=Kirppis", "--qr", str(target),
        "--config", str(config_file),
    )  # fmt: skip
    assert code == 0 and f"QR code written to {target}" in err
    modules = qr_matrix(out.strip())
    with Image.open(target) as image:
        assert image.format == "PNG"
        assert image.size == (len(modules) * PNG_BOX_PIXELS,) * 2
        pixels = image.convert("L")
        half = PNG_BOX_PIXELS // 2
        drawn = [
            [pixels.getpixel((x * PNG_BOX_PIXELS + half, y * PNG_BOX_PIXELS + half)) == 0
             for x in range(len(modules))]
            for y in range(len(modules))
        ]  # fmt: skip
    assert drawn == modules, "the image holds exactly the code of the printed link"


def test_writes_an_svg_qr_code(
    config_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "nps.svg"
    code, _, _ = palaute(capsys, "link", "nps", "--qr", str(target), "--config", str(config_file))
    assert code == 0
    root = ElementTree.parse(target).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.findall(".//{http://www.w3.org/2000/svg}path")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["event"], 'survey "event" uses {event_name} in its texts'),
        (["nope"], 'unknown touchpoint "nope" (known: ces, csat, event, nps)'),
        (["nps", "-p", "oops"], "--property 'oops' must be KEY=VALUE"),
        (["nps", "--qr", "code.gif"], "code.gif: write the QR code as .png or .svg"),
        (["--join", "market"], "set [telegram] bot_username in the config"),
        (["--join", "market", "--channel", "web"], "a --join link opens a chat"),
        ([], "name a touchpoint (e.g. nps), or use --join AUDIENCE"),
    ],
)
def test_explains_what_is_wrong(
    config_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, out, err = palaute(capsys, "link", *args, "--config", str(config_file))
    assert code == 2 and out == ""
    assert err.startswith("palaute link: error: ") and message in err


def _telegram_config(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TELEGRAM_TOKEN", "123:abc")
    with config_file.open("a", encoding="utf-8") as handle:
        handle.write('[telegram]\ntoken = "${TEST_TELEGRAM_TOKEN}"\nbot_username = "kirppis_bot"\n')


async def test_join_link_checks_in_to_an_audience_on_telegram(
    config_file: Path, db_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:  # fmt: skip
    _telegram_config(config_file, monkeypatch)
    qr = tmp_path / "join.png"
    code, out, err = await palaute_async(
        capsys, "link", "--join", "market_2026", "--channel", "telegram", "--qr", str(qr),
        "--config", str(config_file),
    )  # fmt: skip
    assert code == 0 and qr.exists()
    url = urlsplit(out.strip())
    assert (url.scheme, url.netloc, url.path) == ("https", "t.me", "/kirppis_bot")
    payload = parse_qs(url.query)["start"][0]
    assert "public_url" not in err, "a Telegram link works anywhere"
    store = await Store.open(db_path)
    try:
        signer = TokenSigner(await store.settings.get_or_create_secret("link_secret"))
    finally:
        await store.close()
    token = signer.verify(payload)
    assert (token.kind, token.value) == (TokenKind.JOIN, "market_2026")


def test_join_link_names_must_fit_telegram(
    config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _telegram_config(config_file, monkeypatch)
    code, _, err = palaute(capsys, "link", "--join", "market-2026", "--config", str(config_file))
    assert code == 2 and "at most 40 letters, digits and _" in err


def test_survey_link_for_telegram(
    config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _telegram_config(config_file, monkeypatch)
    code, out, _ = palaute(
        capsys, "link", "csat", "--channel", "telegram", "--config", str(config_file)
    )
    assert code == 0 and out.startswith("https://t.me/kirppis_bot?start=s-csat-")
    code, _, err = palaute(
        capsys, "link", "event", "-p", "event_name=X", "--channel", "telegram",
        "--config", str(config_file),
    )  # fmt: skip
    assert code == 2 and "cannot carry --property" in err


async def test_trigger_prints_personal_links_for_the_shops_own_mailer(
    app_factory: AppFactory, config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = await app_factory()
    code, out, _ = await palaute_async(
        capsys, "trigger", "csat", "--contact", "web:anna@example.com", "--print-links",
        "--config", str(config_file),
    )  # fmt: skip
    assert code == 0
    first_line = out.splitlines()[0]
    assert first_line.startswith("web:anna@example.com: csat scheduled")
    url = first_line.split()[-1]
    assert url.startswith("http://localhost:8080/s/")
    async with Browser(f"http://127.0.0.1:{app.http.port}") as browser:
        page = await browser.open(url)
        assert page.question == "How satisfied were you with our service?"
        page = await browser.answer("2")
        assert page.answers == ["2"]


async def test_ref_link_ties_an_order_to_a_chat(
    config_file: Path,
    db_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _telegram_config(config_file, monkeypatch)
    code, out, _ = await palaute_async(
        capsys, "link", "--ref", "crm-42", "--config", str(config_file)
    )
    assert code == 0 and out.startswith("https://t.me/kirppis_bot?start=r-")
    store = await Store.open(db_path)
    try:
        signer = TokenSigner(await store.settings.get_or_create_secret("link_secret"))
        contact = await store.contacts.find_by_ref("crm-42")
    finally:
        await store.close()
    token = signer.verify(parse_qs(urlsplit(out.strip()).query)["start"][0])
    assert (
        contact is not None
        and token.kind is TokenKind.LINK_REF
        and int(token.value, 36) == contact.id
    )
    code, _, err = await palaute_async(
        capsys, "link", "nps", "--ref", "crm-42", "--config", str(config_file)
    )
    assert code == 2 and "--ref makes a personal Telegram link" in err
