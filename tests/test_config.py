"""Config loading: the example, defaults, secrets from the environment, every problem at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_ENV = {
    "PALAUTE_API_TOKEN": "api-secret-123",
    "TELEGRAM_BOT_TOKEN": "123:tg-secret",
    "SLACK_BOT_TOKEN": "xoxb-secret",
    "SLACK_APP_TOKEN": "xapp-secret",
    "PALAUTE_WEBHOOK_SECRET": "hook-secret",
    "WHATSAPP_ACCESS_TOKEN": "EAAG-secret",
    "WHATSAPP_APP_SECRET": "app-secret",
    "WHATSAPP_VERIFY_TOKEN": "verify-secret",
}


def test_the_example_config_loads() -> None:
    config = load_config(ROOT / "config.example.toml", EXAMPLE_ENV)
    assert config.channel_settings["telegram"].token == "123:tg-secret"
    assert {"nps", "csat", "ces", "event", "delivery"} <= set(config.surveys)
    delivered = config.touchpoints["order_delivered"]
    assert delivered.delay.total_seconds() == 1800 and delivered.max_per_day == 500
    assert config.defaults.quiet_hours is not None
    assert "123:tg-secret" not in repr(config)


def test_no_config_means_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config(None, {})
    assert config.storage.path == "palaute.db"
    assert (config.server.host, config.server.port) == ("127.0.0.1", 8080)
    assert config.channels == ["web"]
    # The README's promise, kept without a config: at a decent hour, never too often.
    quiet = config.defaults.quiet_hours
    assert quiet is not None and (f"{quiet.start:%H:%M}", f"{quiet.end:%H:%M}") == (
        "21:00",
        "08:00",
    )
    assert config.defaults.min_days_between_surveys == 7
    assert set(config.surveys) == {"nps", "csat", "ces", "event"}


def test_a_defined_survey_replaces_the_builtin() -> None:
    config = parse_config(
        '[[surveys.nps.questions]]\nid = "score"\ntype = "nps"\ntext = "Rate us"\n', environ={}
    )
    assert [q.id for q in config.surveys["nps"].questions] == ["score"]


def test_every_problem_is_reported_with_key_and_line() -> None:
    text = """
[server]
port = "eighty"

[telegram]
token = "${MISSING_TOKEN}"

[defaults]
quiet_hours = ["25:00", "08:00"]
colour = "blue"

[touchpoints.delivered]
survey = "nope"
delay = "soon"

[[surveys.s.questions]]
id = "why"
type = "text"
text = "Why?"
when = "nps <= 6"
"""
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source=Path("palaute.toml"), environ={})
    lines = caught.value.lines
    assert "palaute.toml:3: server.port: must be a whole number, not a text" in lines
    assert "palaute.toml:6: telegram.token: environment variable MISSING_TOKEN is not set" in lines
    assert any(line.startswith("palaute.toml:9: defaults.quiet_hours[0]: ") for line in lines)
    assert any(line.startswith("palaute.toml:10: defaults.colour: unknown key") for line in lines)
    assert any(
        line.startswith(
            'palaute.toml:13: touchpoints.delivered.survey: survey "nope" is not defined'
        )
        for line in lines
    )
    assert any(
        line.startswith('palaute.toml:14: touchpoints.delivered.delay: "soon" is not a duration')
        for line in lines
    )
    assert any("surveys.s.questions[0].when: condition refers to 'nps'" in line for line in lines)
    assert len(lines) == 7


def test_bad_toml_is_one_clear_line() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config("[server\nport = 1", environ={})
    assert len(caught.value.lines) == 1 and "not valid TOML" in caught.value.lines[0]


def test_cli_reports_problems_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[touchpoints.x]\nsurvey = "ghost"\ndelay = "2 hours"\n')
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f'{bad}:2: touchpoints.x.survey: survey "ghost" is not defined' in result.stderr
    assert f'{bad}:3: touchpoints.x.delay: "2 hours" is not a duration' in result.stderr


def test_cli_check_prints_the_example_surveys(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "check", "--config", str(ROOT / "config.example.toml")],
        capture_output=True, text=True, cwd=tmp_path, check=False, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "  delivery (fi, en):" in result.stdout
    assert (
        "    - fix [text] (optional) when nps <= 6: Mitä meidän pitäisi korjata ensimmäiseksi?"
        in result.stdout
    )
    assert (
        "order_delivered: survey delivery, delay 30m, reminder after 1d, expires after 3d"
        in result.stdout
    )
    assert (
        "Warning: telegram.token: environment variable TELEGRAM_BOT_TOKEN is not set"
        in result.stdout
    )
