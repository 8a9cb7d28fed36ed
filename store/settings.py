"""Where the studio keeps its files and which database it talks to.

Every function reads the environment at call time, not import time, so tests (and a CLI that sets
`STUDIO_DATA_DIR` from a flag) can change it after `store` was imported.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_DATA_DIR = ".studio"


def data_dir() -> Path:
    """`STUDIO_DATA_DIR` (default `./.studio`) as an absolute path; created if missing."""
    path = Path(os.environ.get("STUDIO_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def database_url() -> str:
    """`STUDIO_DATABASE_URL` (any SQLAlchemy URL), else a SQLite file in the data dir."""
    configured = os.environ.get("STUDIO_DATABASE_URL")
    if configured:
        return configured
    return f"sqlite:///{data_dir() / 'studio.db'}"


def runs_dir(run_id: str) -> Path:
    """`<data_dir>/runs/<run_id>`: a run's adapter, report and log. Not created here."""
    if not run_id or "/" in run_id or "\\" in run_id or run_id in {".", ".."}:
        # Run ids end up in paths: refuse anything that could climb out of the runs folder.
        raise ValueError(f"not a valid run id for a folder name: {run_id!r}")
    return data_dir() / "runs" / run_id


def cache_dir() -> Path:
    """`STUDIO_CACHE_DIR` (default `<data_dir>/cache`): converted models and datasets; created."""
    configured = os.environ.get("STUDIO_CACHE_DIR")
    path = Path(configured).expanduser().resolve() if configured else data_dir() / "cache"
    path.mkdir(parents=True, exist_ok=True)
    return path
