"""Studio users: roles and salted password hashes (stdlib scrypt), kept in the `users` table.

Passwords never leave this module in clear: only `scrypt$n$r$p$salt$hash` strings are stored, and
checks compare digests in constant time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets

from sqlmodel import col, select

from store.column_types import utcnow
from store.db import session_scope
from store.errors import StoreError
from store.tables import User, UserRole

# scrypt cost: ~16 MiB and ~50 ms per check on a laptop core; slow enough to hurt guessing, fast
# enough for a login form. Stored with each hash, so raising it later keeps old hashes valid.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PASSWORD_CHARS = 8
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ADMIN_USERNAME = "admin"


class UserError(StoreError, ValueError):
    """A user could not be created or changed; the message says why and what to do."""


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(digest)
        actual = _scrypt(password, base64.b64decode(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    encoded = password.encode("utf-8")
    return hashlib.scrypt(encoded, salt=salt, n=n, r=r, p=p, maxmem=64 * 1024 * 1024, dklen=32)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def create_user(username: str, password: str, role: UserRole | str = UserRole.VIEWER) -> User:
    """Add a user; refuses a taken or malformed name, an unknown role and a short password."""
    role = _role(role)
    if not USERNAME_PATTERN.match(username):
        raise UserError(f"user name {username!r}: use lowercase letters, digits, '.', '_' or '-'")
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    with session_scope() as session:
        if session.exec(select(User.id).where(User.username == username)).first() is not None:
            raise UserError(f"user {username!r} already exists")
        user = User(username=username, role=role.value, password_hash=hash_password(password))
        session.add(user)
    return user


def authenticate(username: str, password: str) -> User | None:
    """The user when the password is right, else None (also for unknown names)."""
    user = get_user(username)
    if user is None:
        password_matches(password, _dummy_hash())  # same work either way: no timing oracle on names
        return None
    if not password_matches(password, user.password_hash):
        return None
    with session_scope() as session:
        row = session.get(User, user.id)
        if row is not None:
            row.last_login_at = utcnow()
    return user


def get_user(username: str) -> User | None:
    with session_scope() as session:
        return session.exec(select(User).where(User.username == username)).first()


def list_users() -> list[User]:
    with session_scope() as session:
        return list(session.exec(select(User).order_by(col(User.username))).all())


def set_role(username: str, role: UserRole | str) -> None:
    _update(username, role=_role(role).value)


def set_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_CHARS:
        raise UserError(f"the password needs at least {MIN_PASSWORD_CHARS} characters")
    _update(username, password_hash=hash_password(password))


def _update(username: str, **values: str) -> None:
    with session_scope() as session:
        user = session.exec(select(User).where(User.username == username)).first()
        if user is None:
            raise UserError(f"no user {username!r}")
        for key, value in values.items():
            setattr(user, key, value)


def ensure_admin(configured_password: str | None = None) -> str | None:
    """Make sure someone can log in: with no user at all, create `admin`.

    Its password is `configured_password` when given, else a generated one, which is returned so the
    caller can print it exactly once (it is not stored anywhere in clear). Returns None when users
    already exist or the password was configured.
    """
    with session_scope() as session:
        if session.exec(select(User.id).limit(1)).first() is not None:
            return None
    generated = None if configured_password else secrets.token_urlsafe(12)
    try:
        create_user(ADMIN_USERNAME, configured_password or generated, UserRole.ADMIN)
    except UserError:
        if get_user(ADMIN_USERNAME) is None:  # not a lost race with another studio process
            raise
        return None
    return generated


def _role(role: UserRole | str) -> UserRole:
    try:
        return UserRole(role)
    except ValueError:
        raise UserError(f"unknown role {role!r}; choose one of: admin, author, viewer") from None


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(12))
