"""Fixtures every test package shares. Package-specific fixtures live in each subfolder's conftest."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"}

# Also set at import time, not only per test: huggingface_hub reads HF_HUB_OFFLINE into a constant
# when it is first imported, which may happen while test modules are collected.
os.environ.update(OFFLINE_ENV)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No hub traffic, and a fresh studio data dir per test (the cache under it too)."""
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("STUDIO_DATA_DIR", str(tmp_path / "studio-data"))
    monkeypatch.delenv("STUDIO_CACHE_DIR", raising=False)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Llama + tokenizer HF folder, built once per session (imports torch on first use only)."""
    from workers.tiny_llama import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama") / "model")


# Debian's Chromium for the browser tests (the studio's and Argilla's UIs); Playwright's own download
# does not work on our machines.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(reason + " (CI must not skip the browser tests: run `make system-deps install-dev`)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_chromium() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[dev]')")
    if not Path(CHROMIUM).exists():
        _missing(f"Debian's chromium is not installed at {CHROMIUM} (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
