"""Which Argilla server the studio talks to, and the annotators' initial passwords.

`STUDIO_ARGILLA_URL` + `STUDIO_ARGILLA_API_KEY` point at any server (docker/, a hosted one); otherwise
the local server `studio up` started for this data dir (`<data_dir>/argilla/server.json`).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from annotation.errors import ArgillaUnavailable
from store.locks import file_lock
from store.settings import data_dir


def argilla_home() -> Path:
    """`STUDIO_ARGILLA_HOME`, else `<data_dir>/argilla`: the local server's files and the passwords."""
    configured = os.environ.get("STUDIO_ARGILLA_HOME")
    return Path(configured).expanduser().resolve() if configured else data_dir() / "argilla"


def argilla_connection() -> tuple[str, str]:
    """(API URL, owner API key); raises ArgillaUnavailable (retried by tasks) if no server is known."""
    url, key = os.environ.get("STUDIO_ARGILLA_URL"), os.environ.get("STUDIO_ARGILLA_API_KEY")
    if url and key:
        return url, key
    state = argilla_home() / "server.json"
    if state.exists():
        saved = json.loads(state.read_text())
        return saved["url"], saved["api_key"]
    raise ArgillaUnavailable(
        "no Argilla server is running for this data dir: start one with `studio up`, or set"
        " STUDIO_ARGILLA_URL and STUDIO_ARGILLA_API_KEY"
    )


def annotator_password(username: str) -> str:
    """The password an annotator account is created with, kept (0600) in `<data_dir>/argilla/annotators.json`
    so an admin can hand it out; generated on first use."""
    path = argilla_home() / "annotators.json"
    with file_lock(path.with_suffix(".lock")):
        saved = json.loads(path.read_text()) if path.exists() else {}
        if username not in saved:
            saved[username] = secrets.token_urlsafe(12)
            path.write_text(json.dumps(saved, indent=1))
            path.chmod(0o600)
        return saved[username]
