"""English texts."""

TEXTS: dict[str, str] = {
    "reprompt_scale": "Please answer with a number from {low} to {high}.",
    "reprompt_scale_optional": "Please answer with a number from {low} to {high}, or type “skip”.",
    "reprompt_yes_no": "Please answer yes or no.",
    "reprompt_choice": "Please choose one of: {options}.",
    "reprompt_text_empty": "Please type your answer in a message.",
    "reprompt_text_too_long": "That is a bit long: please keep it under {limit} characters.",
    "skip": "Skip",
    "yes": "Yes",
    "no": "No",
    "scale_ends": "{low} = {low_label}, {high} = {high_label}",
    "answered": "Your answer: {answer}",
    "skipped": "Skipped",
    "default_thanks": "Thank you for your feedback!",
    "survey_closed": "Thank you, but this survey has already closed.",
    "survey_done": "You have already answered this survey. Thank you!",
    "stopped": "You will not get any more surveys from us. Send /start if you change your mind.",
    "restarted": "Welcome back! You may get a short survey now and then. Send /stop to opt out.",
    "welcome": "Hi! I ask a few quick questions after you have been in touch with us. "
    "Send /stop at any time to opt out, or /delete to erase your answers.",
    "joined_plain": "Thanks for checking in! We will ask how it went afterwards.",
    "survey_title_plain": "Your feedback",
    "survey_title_for": "Feedback for {organisation}",
    "joined": "Thanks for checking in to {audience}! We will ask how it went afterwards.",
    "linked": "Thanks, you are all set. We may ask for your feedback here.",
    "help": "I ask short feedback surveys. Tap a button or type your answer.\n"
    "/stop: no more surveys\n/start: surveys back on\n/delete: erase your data",
    "delete_confirm": "Erase everything you have answered? This cannot be undone.",
    "delete_button": "Yes, erase my data",
    "deleted": "Done: your data has been erased.",
    "invalid_link": "Sorry, this link is not valid any more.",
    "reminder": "A gentle reminder: we would love to hear how it went.",
    "opt_out_button": "Don't ask me again",
    "apology": "Sorry, something went wrong on our side. Please try again in a moment.",
    "slack_reply_hint": "Type your answer as a message here, or reply in this thread.",
    "slack_choose": "Choose…",
    "stopped_slack": "You will not get any more surveys from us. "
    "Type /palaute start if you change your mind.",
    "restarted_slack": "Welcome back! You may get a short survey now and then. "
    "Type /palaute stop to opt out.",
    "welcome_slack": "Hi! I ask a few quick questions after you have been in touch with us. "
    "Type /palaute stop at any time to opt out, or /palaute delete to erase your answers.",
    "help_slack": "I ask short feedback surveys. Tap a button or type your answer.\n"
    "/palaute stop: no more surveys\n/palaute start: surveys back on\n"
    "/palaute delete: erase your data",
    "stopped_whatsapp": "You will not get any more surveys from us. Send START if you change your mind.",
    "restarted_whatsapp": "Welcome back! You may get a short survey now and then. Send STOP to opt out.",
    "welcome_whatsapp": "Hi! I ask a few quick questions after you have been in touch with us. "
    "Send STOP at any time to opt out.",
    "help_whatsapp": "I ask short feedback surveys. Tap a button or type your answer.\n"
    "STOP: no more surveys\nSTART: surveys back on",
    "whatsapp_choose": "Choose",
    "whatsapp_type_number": "Type a number from {low} to {high}.",
    "whatsapp_type_choice": "Type the number of your choice:",
    "whatsapp_or_skip": "Or type “{skip}”.",
    "whatsapp_reply_to_start": "Reply to this message to start.",
    "command_start": "Start, or turn surveys back on",
    "command_help": "How this works",
    "command_stop": "No more surveys",
    "command_delete": "Erase my data",
    "web_back": "← Change my previous answer",
    "web_send": "Send",
    "web_type_here": "Type your answer here",
    "web_you_answered": "Your answer:",
    "web_sending": "Saving…",
    "web_close_page": "Your answers are saved. You can close this page now.",
    "web_not_found_title": "Survey not found",
    "web_not_found": "Sorry, there is no survey at this address. "
    "Please check that the whole link was copied.",
    "web_closed_title": "This survey has closed",
    "web_unavailable": "Thank you for your interest, but this survey is not open for you.",
    "web_form_expired_title": "Please try again",
    "web_form_expired": "This page could not be saved: it was open for a long time or cookies "
    "are blocked. Open the survey again; your earlier answers are kept.",
    "web_rate_limited_title": "One moment, please",
    "web_rate_limited": "Many people are answering from this network right now. "
    "Please try again in a minute.",
    "web_open_again": "Open the survey again",
    "web_form_not_utf8": "Your answer could not be read: the form was not sent as UTF-8 text. "
    "Please answer again.",
    "web_form_charset": "Your answer could not be read: the form was sent in the unknown "
    'character set "{charset}". Please answer again.',
    "web_storage_title": "Not saved yet",
    "web_storage_busy": "We could not save your answer just now. Please try again in a moment.",
    "relay_to_customer": "A message from our team — {survey}:\n\n{message}\n\n— {author}. You can answer here.",
}
