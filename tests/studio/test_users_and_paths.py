"""Studio accounts (scrypt hashes, roles, first-start admin) and the data-root gate for user paths."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pytest

from store import settings, users
from store.tables import UserRole
from studio import ui_files
from studio.auth import Access, check_login, login_required


def test_passwords_are_hashed_and_checked() -> None:
    users.create_user("ann", "long-enough-pw", UserRole.AUTHOR)
    stored = users.get_user("ann").password_hash
    assert stored.startswith("scrypt$") and "long-enough-pw" not in stored
    assert check_login("ann", "long-enough-pw") and not check_login("ann", "wrong-password")
    assert not check_login("nobody", "long-enough-pw")
    with pytest.raises(users.UserError, match="already exists"):
        users.create_user("ann", "another-password")


def test_the_first_start_generates_an_admin_password_once(monkeypatch: pytest.MonkeyPatch) -> None:
    password = users.ensure_admin()
    assert password and check_login("admin", password)
    assert users.ensure_admin() is None  # printed once: a second start creates nothing


def test_roles_gate_actions() -> None:
    users.create_user("vic", "viewer-password", UserRole.VIEWER)
    access = Access(login=True)
    request = type("Request", (), {"username": "vic"})()
    with pytest.raises(gr.Error, match="needs an author or admin account"):
        access.require(request, UserRole.AUTHOR, "starting a run")
    assert Access(login=False).require(None, UserRole.ADMIN, "anything") == "local"


def test_login_is_required_beyond_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STUDIO_REQUIRE_LOGIN", raising=False)
    assert not login_required("127.0.0.1") and login_required("0.0.0.0")
    monkeypatch.setenv("STUDIO_REQUIRE_LOGIN", "1")
    assert login_required("127.0.0.1")


def test_user_paths_must_stay_inside_the_data_root(tmp_path: Path) -> None:
    inside = settings.data_dir() / "uploads" / "a.jsonl"
    assert ui_files.inside_data_root(inside) == inside.resolve()
    for outside in ("/etc/passwd", settings.data_dir() / ".." / "x", "../../x"):
        with pytest.raises(ui_files.UnsafePath):
            ui_files.inside_data_root(outside)
    link = settings.data_dir() / "sneaky"
    link.symlink_to("/etc")
    with pytest.raises(ui_files.UnsafePath):
        ui_files.inside_data_root(link / "passwd")


def test_uploads_are_copied_into_the_data_root_and_previewed(tmp_path: Path) -> None:
    source = tmp_path / "my data.jsonl"
    source.write_text('{"q": "p", "a": "x", "b": "y"}\n{"q": "p2", "a": "x2", "b": "y2"}\n')
    saved = ui_files.save_upload(source)
    assert settings.data_dir() in saved.parents and saved.name == "my_data.jsonl"
    rows = ui_files.preview_rows(saved)
    assert ui_files.columns_of(rows) == ["q", "a", "b"] and len(rows) == 2
