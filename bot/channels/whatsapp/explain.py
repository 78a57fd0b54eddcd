"""What the WhatsApp channel and each touchpoint need on it, for `palaute check`."""

from __future__ import annotations

from collections.abc import Mapping

from bot.channels.whatsapp.settings import WEBHOOK_PATH, WhatsAppConfig


def describe(config: WhatsAppConfig) -> list[str]:
    pace = config.pace
    return [
        f"WhatsApp: phone number id {config.phone_number_id}, Graph API {config.api_version};"
        f" Meta's webhook (callback URL): {config.webhook_url or '<server.public_url>' + WEBHOOK_PATH}"
        ' (field "messages"), verified with [whatsapp] verify_token, signed with app_secret',
        f"WhatsApp pace: {pace.messages_per_second:g} messages/s overall, to one customer"
        f" {pace.per_user_burst} at once, then one every"
        f" {pace.seconds_between_messages_per_user:g} s",
        _team_line(config),
    ]


def _team_line(config: WhatsAppConfig) -> str:
    template = config.alert_template
    if template is None:
        return (
            "Warning: WhatsApp: no [whatsapp] alert_template: a team member on WhatsApp gets"
            " alerts and reports only within 24 hours of writing to the business number"
        )
    return (
        f'WhatsApp team messages outside the 24-hour window: alert template "{template.name}"'
        f" ({', '.join(template.languages)}), body {{{{1}}}} = the alert's headline; the whole"
        " message follows the team member's reply"
    )


def touchpoint_notes(
    config: WhatsAppConfig, configured: Mapping[str, Mapping[str, str]]
) -> list[str]:
    """`configured`: each configured touchpoint with the properties its config fixes. A
    template may also name a survey triggered by its own name (`palaute trigger csat`)."""
    touchpoints = dict(configured)
    touchpoints.update({name: {} for name in config.templates if name not in touchpoints})
    lines = [
        "WhatsApp touchpoints (a customer who has not written within 24 hours can only be"
        " sent an approved template):"
    ]
    for touchpoint, fixed in touchpoints.items():
        template = config.templates.get(touchpoint)
        if template is None:
            lines.append(
                f"  {touchpoint}: no template: reaches only customers who wrote within 24 hours;"
                f" add [whatsapp.templates.{touchpoint}] to reach the others"
            )
            continue
        parts = [f'template "{template.name}" ({", ".join(template.languages)})']
        if template.parameters:
            named = []
            for index, name in enumerate(template.parameters, 1):
                source = f"fixed: {fixed[name]}" if name in fixed else "from the trigger"
                named.append(f"{{{{{index}}}}} = {name} ({source})")
            parts.append("body " + ", ".join(named))
        else:
            parts.append("no body parameters")
        lines.append(
            f"  {touchpoint}: {'; '.join(parts)}; the survey starts when the customer replies"
        )
    return lines
