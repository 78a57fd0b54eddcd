"""What each touchpoint needs to reach customers on WhatsApp, for `palaute check` and the
config's own checks."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from bot.channels.whatsapp.settings import WEBHOOK_PATH, WhatsAppConfig


def unknown_template_touchpoints(
    config: WhatsAppConfig, touchpoints: Collection[str], surveys: Collection[str]
) -> list[str]:
    """Templates configured for a touchpoint that does not exist (a typo would never be used)."""
    return [name for name in config.templates if name not in touchpoints and name not in surveys]


def whatsapp_lines(
    config: WhatsAppConfig,
    base_url: str,
    touchpoints: Mapping[str, Mapping[str, str]],
) -> list[str]:
    """`touchpoints`: each touchpoint id (configured, or a built-in survey triggered by its
    name) with the properties its config fixes."""
    pace = config.pace
    lines = [
        f"WhatsApp: phone number id {config.phone_number_id}, Graph API {config.api_version};"
        f' Meta\'s webhook: {base_url}{WEBHOOK_PATH} (field "messages"),'
        " verified with [whatsapp] verify_token, signed with app_secret",
        f"WhatsApp pace: {pace.messages_per_second:g} messages/s overall, to one customer"
        f" {pace.per_user_burst} at once, then one every"
        f" {pace.seconds_between_messages_per_user:g} s",
        "WhatsApp touchpoints (a customer who has not written within 24 hours can only be"
        " sent an approved template):",
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
