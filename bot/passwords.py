"""Password hashes for dashboard accounts: salted scrypt from the standard library.

The stored form is `scrypt$<n>$<r>$<p>$<salt>$<hash>` (base64), so that stronger parameters can
come later without making old hashes unreadable. Hashing takes ~50 ms of CPU on purpose: callers
on the event loop run it in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
"""The parameters the Python docs and OWASP's password storage cheat sheet give for
interactive logins (N=2^14, r=8, p=1): ~16 MiB of memory per hash."""
SALT_BYTES = 16
HASH_BYTES = 32
MAX_MEMORY = 64 * 1024 * 1024
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
"""A bound on the work one sign-in can cause."""


class PasswordError(ValueError):
    pass


def check_new_password(password: str) -> None:
    if not password.strip():
        raise PasswordError("the password is empty")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(
            f"the password is too short: use at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordError(f"the password is too long: at most {MAX_PASSWORD_LENGTH} characters")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode(), salt=salt, n=n, r=r, p=p, maxmem=MAX_MEMORY, dklen=HASH_BYTES
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    encode = base64.b64encode
    return (
        f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"
    )


def verify_password(password: str, stored: str) -> bool:
    """Constant-time compare of the password's hash with the stored one."""
    if len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        computed = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except ValueError:
        return False
    return hmac.compare_digest(computed, expected)


@functools.cache
def dummy_hash() -> str:
    """Checked against when the name is unknown, so that the answer takes as long as for a
    known name with a wrong password: the timing does not tell which names exist."""
    return hash_password(secrets.token_urlsafe(16))
