"""Who may do what in the studio: logins against the `users` table, and role checks on actions.

Login is required whenever the studio listens beyond the loopback interface (or when
`STUDIO_REQUIRE_LOGIN=1`). On a loopback-only studio without login the person at the keyboard is the
local admin: anyone who can reach 127.0.0.1 can already read the data folder.

Roles: viewers read everything; authors also edit recipes, start, cancel and re-run runs, download
adapters and use the playground; admins also manage users and the annotation setup.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import gradio as gr

from store import users
from store.tables import UserRole

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
LOCAL_USER = "local"
ROLE_RANK = {UserRole.VIEWER: 0, UserRole.AUTHOR: 1, UserRole.ADMIN: 2}
WHAT_NEEDS = {UserRole.AUTHOR: "an author or admin", UserRole.ADMIN: "an admin"}


def login_required(host: str) -> bool:
    """True unless the studio listens on loopback only and login was not asked for."""
    forced = os.environ.get("STUDIO_REQUIRE_LOGIN", "").strip().lower() in {"1", "true", "yes"}
    return forced or host not in LOOPBACK_HOSTS


def first_start_password() -> str | None:
    """Create the admin on first start; return its generated password (print it once) or None.

    `STUDIO_ADMIN_PASSWORD` sets it instead of generating one.
    """
    return users.ensure_admin(os.environ.get("STUDIO_ADMIN_PASSWORD") or None)


def check_login(username: str, password: str) -> bool:
    """Gradio's `auth=` callable: the login page accepts exactly the users in the DB."""
    return users.authenticate(username.strip(), password) is not None


@dataclass(frozen=True)
class Access:
    """The app's access policy, handed to every tab."""

    login: bool

    def user_and_role(self, request: Any) -> tuple[str, UserRole]:
        if not self.login:
            return LOCAL_USER, UserRole.ADMIN
        username = getattr(request, "username", None) if request is not None else None
        user = users.get_user(username) if username else None
        if user is None:
            raise gr.Error("you are not logged in (or your account was removed): reload the page")
        return user.username, UserRole(user.role)

    def require(self, request: Any, needed: UserRole, action: str) -> str:
        """The user's name when their role allows `action`; a gr.Error naming the role otherwise."""
        username, role = self.user_and_role(request)
        if ROLE_RANK[role] < ROLE_RANK[needed]:
            raise gr.Error(f"{action} needs {WHAT_NEEDS[needed]} account; {username} is a {role.value}")
        return username

    def allows(self, request: Any, needed: UserRole) -> bool:
        try:
            _, role = self.user_and_role(request)
        except gr.Error:
            return False
        return ROLE_RANK[role] >= ROLE_RANK[needed]

    def greeting(self, request: Any) -> str:
        try:
            username, role = self.user_and_role(request)
        except gr.Error as exc:
            return str(exc)
        return f"Signed in as **{username}** ({role.value})" if self.login else "Local studio (no login)"
