from __future__ import annotations

from pathlib import Path

import pytest

from store import settings


def test_data_dir_follows_the_environment_at_call_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "first"))
    assert settings.data_dir() == tmp_path / "first"
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "second"))
    assert settings.data_dir() == tmp_path / "second"
    assert (tmp_path / "second").is_dir()


def test_default_data_dir_is_dot_studio_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STUDIO_DATA_DIR")
    monkeypatch.chdir(tmp_path)
    assert settings.data_dir() == tmp_path.resolve() / ".studio"
    assert settings.data_dir().is_absolute()


def test_database_url_defaults_to_sqlite_in_the_data_dir(studio_env: Path) -> None:
    assert settings.database_url() == f"sqlite:///{studio_env / 'studio.db'}"


def test_database_url_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDIO_DATABASE_URL", "postgresql+psycopg://u@db/studio")
    assert settings.database_url() == "postgresql+psycopg://u@db/studio"


def test_runs_dir_and_cache_dir(studio_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.runs_dir("r-20261127-ab12cd") == studio_env / "runs" / "r-20261127-ab12cd"
    assert settings.cache_dir() == studio_env / "cache"
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert settings.cache_dir() == tmp_path / "elsewhere"
    assert settings.cache_dir().is_dir()


@pytest.mark.parametrize("bad_id", ["", "..", "../etc", "a/b"])
def test_runs_dir_refuses_ids_that_would_escape_the_runs_folder(bad_id: str) -> None:
    with pytest.raises(ValueError, match="run id"):
        settings.runs_dir(bad_id)
