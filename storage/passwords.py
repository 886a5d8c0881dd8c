"""Staff passwords: Argon2 hashes (argon2-cffi), for the web app's sign-in and the CLI's account commands."""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from config.errors import UipIntakeError

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()
# verifying against this when the address is unknown takes as long as a real check: no account oracle
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class PasswordTooShort(UipIntakeError):
    """A new password below ``MIN_PASSWORD_LENGTH``."""


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordTooShort(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True only for a known hash and its password; an unknown address (None) costs the same check."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with weaker parameters than today's: store a new one at the next sign-in."""
    return _hasher.check_needs_rehash(password_hash)
