"""What each Web API error of the methods palaute calls means for a delivery.

Every documented error of chat.postMessage, chat.update, conversations.open,
conversations.members, users.info, users.lookupByEmail, usergroups.users.list, auth.test and
files.getUploadURLExternal / files.completeUploadExternal (files_upload_v2) falls in one set:

- `UNREACHABLE_ERRORS`: the person or conversation cannot be reached, now or later
  (a permanent failure: the contact is marked unreachable, what waits for it is dropped);
- `REJECTED_ERRORS`: Slack refused this one message (how palaute built it, or where it was to
  go in a thread): it is dropped, the chat stays reachable;
- `GONE_ERRORS`: the message to edit is gone; nothing left to do;
- `TOKEN_ERRORS`: about palaute's own token or workspace (temporary, logged loudly: marking
  every contact unreachable after an uninstall would be wrong);
- `TEMPORARY_ERRORS`: trouble at Slack that passes; retried, after Retry-After when given.

Sources: the Errors tables of https://docs.slack.dev/reference/methods/chat.postMessage,
…/chat.update, …/conversations.open, …/conversations.members, …/users.info,
…/users.lookupByEmail, …/usergroups.users.list, …/files.getUploadURLExternal and
…/files.completeUploadExternal, and https://docs.slack.dev/apis/web-api/rate-limits.
An error not listed is taken as temporary (and logged), so that nothing is lost to a new code.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.channels.base import (
    DeliveryError,
    permanent_failure,
    rejected_message,
    temporary_failure,
)

log = logging.getLogger(__name__)

UNREACHABLE_ERRORS: Final = frozenset(
    {
        # conversations.open, users.info, users.lookupByEmail
        "user_not_found",
        "users_not_found",
        "user_not_visible",
        "user_disabled",
        "cannot_dm_bot",
        # chat.postMessage, conversations.*
        "channel_not_found",
        "is_archived",
        "not_in_channel",
        "messages_tab_disabled",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",  # no top-level message may be posted there
        "no_permission",  # "Make sure your app is a member of the conversation"
        "team_access_not_granted",
        "method_not_supported_for_channel_type",
    }
)
REJECTED_ERRORS: Final = frozenset(
    {
        # the message itself (chat.postMessage, chat.update)
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_blocks_too_long",
        "msg_too_long",
        "no_text",
        "invalid_attachments",
        "too_many_attachments",
        "attachment_payload_limit_exceeded",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "metadata_must_be_sent_from_app",
        "as_user_not_supported",
        "duplicate_channel_not_found",
        "duplicate_message_not_found",
        "block_mismatch",
        "slack_connect_file_link_sharing_blocked",
        "slack_connect_canvas_sharing_blocked",
        "slack_connect_lists_sharing_blocked",
        # where it was to go: a thread that cannot take it
        "cannot_reply_to_message",
        "restricted_action_non_threadable_channel",
        "restricted_action_thread_locked",
        # a workspace preference keeps the app from posting this; not about the person
        "restricted_action",
        # the call as palaute made it (every method's shared errors)
        "invalid_arguments",
        "invalid_arg_name",
        "invalid_array_arg",
        "invalid_charset",
        "invalid_form_data",
        "invalid_post_type",
        "missing_post_type",
        "invalid_cursor",
        "invalid_limit",
        "not_enough_users",
        "too_many_users",
        "users_list_not_supplied",
        # files.completeUploadExternal
        "file_not_found",
    }
)
GONE_ERRORS: Final = frozenset(
    {"message_not_found", "cant_update_message", "edit_window_closed", "is_inactive"}
)
TOKEN_ERRORS: Final = frozenset(
    {
        "account_inactive",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "not_allowed_token_type",
        "no_such_token",
        "access_denied",
        "ekm_access_denied",  # "Administrators have suspended the ability to post a message."
        "enterprise_is_restricted",
        "two_factor_setup_required",
        "accesslimited",
        "deprecated_endpoint",
        "method_deprecated",
    }
)
TEMPORARY_ERRORS: Final = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "message_limit_exceeded",
        "fatal_error",
        "internal_error",
        "request_timeout",
        "service_unavailable",
        "org_login_required",
        "team_added_to_org",
        "fetch_members_failed",
    }
)

SLACK_UNAVAILABLE = (SlackClientError, aiohttp.ClientError, TimeoutError)
"""Slack did not answer, or not with a Web API response: worth trying again later."""


def error_code(response: AsyncSlackResponse) -> str:
    return str(response.get("error") or f"HTTP {response.status_code}")


def retry_after(response: AsyncSlackResponse) -> float | None:
    """Seconds Slack asked to wait (a 429's Retry-After header), if it said."""
    headers = {k.lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def delivery_error(error: SlackApiError) -> DeliveryError:
    response = error.response
    code = error_code(response)
    if response.status_code == 429 or code in ("ratelimited", "rate_limited"):
        return temporary_failure("rate limited by Slack", retry_after=retry_after(response) or 1.0)
    if response.status_code >= 500:
        return temporary_failure(f"Slack server error: {code}")
    if code in UNREACHABLE_ERRORS:
        return permanent_failure(f"Slack: {code}")
    if code in REJECTED_ERRORS:
        if code == "restricted_action":
            log.error("a Slack workspace preference keeps palaute from posting (%s)", code)
        return rejected_message(f"Slack: {code}")
    if code in TOKEN_ERRORS:
        log.error("Slack refused palaute's bot token (%s): check slack.bot_token", code)
        return temporary_failure(f"Slack refused the bot token: {code}")
    if code not in TEMPORARY_ERRORS and code not in GONE_ERRORS:
        log.warning("Slack answered an error palaute does not know (%s); trying again", code)
    return temporary_failure(f"Slack: {code}")


@contextmanager
def slack_errors(*, ignore: frozenset[str] = frozenset()) -> Iterator[None]:
    """Web API failures as `DeliveryError`s for the dispatcher; errors in `ignore` pass."""
    try:
        yield
    except SlackApiError as error:
        if error.response.get("error") in ignore:
            log.info("Slack: %s; nothing to do", error.response.get("error"))
            return
        raise delivery_error(error) from error
    except SLACK_UNAVAILABLE as error:
        raise temporary_failure(f"Slack unreachable: {type(error).__name__}") from error
