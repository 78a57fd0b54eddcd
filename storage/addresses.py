"""One spelling per address: how an address is stored, looked up, forgotten and suppressed.

`Anna@Example.com`, ` anna@example.com` and `anna@exa\u200bmple.com` (a zero-width space
pasted from a CRM) are one person. Compatibility forms are folded (NFKC: a full-width `＠`
is `@`), invisible format characters (Unicode category Cf: zero-width spaces and joiners,
byte order marks, soft hyphens, direction marks) and surrounding white space are dropped, and
an e-mail address is lower-cased. Platform ids (Telegram chat ids, Slack user ids) are ASCII
and come out as they went in.
"""

from __future__ import annotations

import unicodedata


def normalize_address(address: str) -> str:
    folded = unicodedata.normalize("NFKC", address)
    visible = "".join(c for c in folded if unicodedata.category(c) != "Cf").strip()
    return visible.lower() if "@" in visible else visible
