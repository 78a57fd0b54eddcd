"""The [whatsapp] section, WhatsApp contacts and `palaute check`: every mistake named with its
key and line, every number written as the customer's E.164."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.commands.check import cmd_check
from bot.config import ConfigError, parse_config
from bot.delivery.triggers import ContactSpec, TriggerError

ENV = {"WA_TOKEN": "EAAG-secret-token", "WA_SECRET": "app-secret-1", "WA_VERIFY": "verify-1"}
GOOD = """
[server]
public_url = "https://feedback.example.com"

[whatsapp]
phone_number_id = "106540352242922"
access_token = "${WA_TOKEN}"
app_secret = "${WA_SECRET}"
verify_token = "${WA_VERIFY}"

[whatsapp.templates.order_delivered]
name = "palaute_feedback"
language = "fi"
parameters = ["order_id", "store"]

[touchpoints.order_delivered]
survey = "nps"
properties = { store = "Kamppi" }

[team]
report_to = ["whatsapp:+358 40 999 9999"]
"""


def test_a_good_section_loads_with_its_secrets_kept_out_of_sight() -> None:
    config = parse_config(GOOD, environ=ENV)
    assert config.channel_settings.get("whatsapp") is not None
    template = config.channel_settings["whatsapp"].templates["order_delivered"]
    assert template.parameters == ("order_id", "store") and template.languages == ("fi",)
    several = parse_config(
        GOOD.replace('language = "fi"', 'language = ["fi", "en_US"]'), environ=ENV
    )
    assert several.channel_settings.get("whatsapp") is not None
    approved = several.channel_settings["whatsapp"].templates["order_delivered"]
    assert [approved.language_for(code) for code in ("en", "fi", "sv", None)] == [
        "en_US",
        "fi",
        "fi",
        "fi",
    ]
    assert config.team.report_to == ("whatsapp:+358409999999",)
    assert "whatsapp" in config.channels
    assert set(ENV.values()) <= set(config.secrets())
    assert "EAAG-secret-token" not in repr(config)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ('phone_number_id = "106540352242922"', "whatsapp.phone_number_id: is required"),
        ('language = "fi"', "whatsapp.templates.order_delivered.language: is required"),
        ('api_version = "23"', 'whatsapp.api_version: must be a Graph API version such as "v23.0"'),
        ('name = "palaute_feedback"', "whatsapp.templates.order_delivered.name: is required"),
        ("[touchpoints.order_delivered]", 'whatsapp.templates.order_delivered: there is no touchpoint "order_delivered"'),
        ('"whatsapp:+358 40 999 9999"', 'team.report_to[0]: a WhatsApp contact is a phone number: "040 999 9999" has no country code'),
        ('public_url = "https://feedback.example.com"', "whatsapp: WhatsApp sends messages to a webhook: set server.public_url"),
    ],
)  # fmt: skip
def test_each_mistake_is_named_with_its_key_and_line(change: str, expected: str) -> None:
    replacement = {
        'phone_number_id = "106540352242922"': 'phone_number_id = ""',
        'language = "fi"': 'language = "Finnish"',
        'api_version = "23"': 'verify_token = "${WA_VERIFY}"\napi_version = "23"',
        'name = "palaute_feedback"': 'name = "Palaute Feedback!"',
        "[touchpoints.order_delivered]": "[touchpoints.order_delivery]",
        '"whatsapp:+358 40 999 9999"': '"whatsapp:040 999 9999"',
        'public_url = "https://feedback.example.com"': "",
    }[change]
    toml = GOOD.replace(
        'verify_token = "${WA_VERIFY}"' if change == 'api_version = "23"' else change,
        replacement,
    )
    with pytest.raises(ConfigError) as raised:
        parse_config(toml, environ=ENV)
    lines = [line for line in raised.value.lines if expected in line]
    assert lines, raised.value.lines
    assert lines[0].startswith("<config>:")  # with the line the key is on
    assert all("EAAG-secret-token" not in line for line in raised.value.lines)


def test_a_missing_secret_names_its_variable() -> None:
    environ = {k: v for k, v in ENV.items() if k != "WA_SECRET"}
    with pytest.raises(ConfigError) as raised:
        parse_config(GOOD, environ=environ)
    assert any(
        "whatsapp.app_secret: environment variable WA_SECRET is not set" in line
        for line in raised.value.lines
    )


@pytest.mark.parametrize("key", ["app_secret", "access_token", "verify_token"])
def test_an_empty_secret_is_refused(key: str) -> None:
    # An app secret of "" would make any body's signature computable by anyone.
    variable = {"app_secret": "WA_SECRET", "access_token": "WA_TOKEN", "verify_token": "WA_VERIFY"}
    with pytest.raises(ConfigError) as raised:
        parse_config(GOOD, environ={**ENV, variable[key]: ""})
    assert any(f"whatsapp.{key}: is empty" in line for line in raised.value.lines)


@pytest.mark.parametrize(
    "written", ["+358401234567", "+358 40 123 4567", "00358-40-123 4567", "358401234567", "+358 (40) 123.4567"]
)  # fmt: skip
def test_a_whatsapp_contact_is_stored_in_e164(written: str) -> None:
    assert ContactSpec.parse(f"whatsapp:{written}") == ContactSpec("whatsapp", "+358401234567")


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("040 123 4567", "has no country code"),
        ("+35840", "has 5 digits"),
        ("+358 40 123 4567 8901 23", "has 18 digits"),
        ("anna@example.com", "is not a phone number"),
        ("+٣٥٨٤٠١٢٣٤٥٦٧", "is not a phone number"),  # Arabic-Indic digits are not E.164
    ],
)
def test_a_whatsapp_contact_that_is_no_number_is_refused_saying_why(written: str, why: str) -> None:
    with pytest.raises(TriggerError) as raised:
        ContactSpec.parse(f"whatsapp:{written}")
    assert why in str(raised.value)


async def test_check_explains_what_each_whatsapp_touchpoint_needs(
    capsys: pytest.CaptureFixture[str],
) -> None:
    toml = GOOD + '\n[touchpoints.visit]\nsurvey = "csat"\n'
    assert await cmd_check(argparse.Namespace(), parse_config(toml, environ=ENV)) == 0
    out = capsys.readouterr().out
    assert "Channels: web, whatsapp" in out
    assert "Meta's webhook (callback URL): https://feedback.example.com/whatsapp/webhook" in out
    assert (
        '  order_delivered: template "palaute_feedback" (fi); body {{1}} = order_id (from the'
        " trigger), {{2}} = store (fixed: Kamppi); the survey starts when the customer replies"
    ) in out
    assert (
        "  visit: no template: reaches only customers who wrote within 24 hours;"
        " add [whatsapp.templates.visit] to reach the others"
    ) in out


def test_a_csv_of_whatsapp_numbers_is_read_in_e164_and_a_bad_row_named(tmp_path: Path) -> None:
    from bot.commands.trigger import _csv_requests

    good = tmp_path / "customers.csv"
    good.write_text("contact,order_id\nwhatsapp:+358 40 123 4567,#1\nwhatsapp:00358407654321,#2\n")
    requests = _csv_requests(good, "nps", {}, again=False)
    assert [r.contact.address for r in requests] == ["+358401234567", "+358407654321"]
    assert [r.properties["order_id"] for r in requests] == ["#1", "#2"]
    bad = tmp_path / "bad.csv"
    bad.write_text("contact\nwhatsapp:+358401234567\nwhatsapp:040 765 4321\n")
    with pytest.raises(TriggerError) as raised:
        _csv_requests(bad, "nps", {}, again=False)
    assert str(raised.value).startswith(f"{bad}:3: contact:")
    assert "has no country code" in str(raised.value)


def test_a_pace_that_is_not_a_positive_number_is_named_with_its_line() -> None:
    written = GOOD.replace(
        'verify_token = "${WA_VERIFY}"',
        'verify_token = "${WA_VERIFY}"\nmessages_per_second = 0\nper_user_burst = 100001',
    )
    with pytest.raises(ConfigError) as refused:
        parse_config(written, environ=ENV)
    lines = written.splitlines()
    rate = lines.index("messages_per_second = 0") + 1
    burst = lines.index("per_user_burst = 100001") + 1
    assert refused.value.lines == [
        f"<config>:{rate}: whatsapp.messages_per_second: must be a number above 0",
        f"<config>:{burst}: whatsapp.per_user_burst: must be a number above 0",
    ]


def test_the_webhook_address_is_server_public_url_and_not_a_key_of_its_own() -> None:
    config = parse_config(
        GOOD.replace('"https://feedback.example.com"', '"https://feedback.example.com/palaute/"'),
        environ=ENV,
    )
    assert (
        config.channel_settings["whatsapp"].webhook_url
        == "https://feedback.example.com/palaute/whatsapp/webhook"
    )
    with pytest.raises(ConfigError) as raised:
        parse_config(
            GOOD.replace("[whatsapp]\n", '[whatsapp]\npublic_url = "https://x.example"\n'),
            environ=ENV,
        )
    assert "whatsapp.public_url: is set in [server] (public_url)" in str(raised.value)


LONG_SURVEY = """
[touchpoints.visit]
survey = "visit"

[surveys.visit]
title = "Visit"
[[surveys.visit.questions]]
id = "csat"
type = "csat"
text = "{text}"
"""


def test_a_survey_whatsapp_cannot_send_is_refused_when_the_config_loads() -> None:
    # pywa's send_message: a text message holds at most 4096 characters; a question longer
    # than an interactive body (1024) goes as text, so 3000 loads and 4200 does not.
    fits = GOOD + LONG_SURVEY.format(text="Hyvä " * 600)
    assert parse_config(fits, environ=ENV).channel_settings["whatsapp"] is not None
    with pytest.raises(ConfigError) as raised:
        parse_config(GOOD + LONG_SURVEY.format(text="x" * 4200), environ=ENV)
    assert "surveys.visit.questions[0].text: is 4200 characters" in str(raised.value)
    assert "a WhatsApp message holds at most 4096" in str(raised.value)
    # Twelve choices are more than a list's 10 rows, but they are typed: not refused.
    many = GOOD + LONG_SURVEY.replace('type = "csat"', 'type = "choice"\nchoices = [{}]').format(
        ", ".join(f'"Option {n}"' for n in range(12)), text="Which one?"
    )
    assert parse_config(many, environ=ENV).channel_settings["whatsapp"] is not None


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('name = "palaute_alert"', "whatsapp.alert_template.language: is required"),
        ('language = "fi"', "whatsapp.alert_template.name: is required"),
        (
            'name = "palaute_alert"\nlanguage = "fi"\nparameters = ["x"]',
            "whatsapp.alert_template.parameters",
        ),
    ],
)
def test_a_bad_alert_template_is_named_with_its_key(table: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(GOOD + f"\n[whatsapp.alert_template]\n{table}\n", environ=ENV)
    assert expected in str(raised.value)
    good = parse_config(
        GOOD + '\n[whatsapp.alert_template]\nname = "palaute_alert"\nlanguage = ["fi", "en"]\n',
        environ=ENV,
    )
    alert = good.channel_settings["whatsapp"].alert_template
    assert alert is not None and alert.languages == ("fi", "en")
    assert alert.parameters == ("headline",)
