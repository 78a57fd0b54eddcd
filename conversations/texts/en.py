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
    "form_expired_title": "Please try again",
    "form_expired": "This page could not be saved: it was open for a long time or cookies "
    "are blocked. Open the survey again; your earlier answers are kept.",
    "form_not_utf8": "Your answer could not be read: the form was not sent as UTF-8 text. "
    "Please answer again.",
    "form_charset": "Your answer could not be read: the form was sent in the unknown "
    'character set "{charset}". Please answer again.',
    "relay_to_customer": "A message from our team — {survey}:\n\n{message}\n\n— {author}. You can answer here.",
}
