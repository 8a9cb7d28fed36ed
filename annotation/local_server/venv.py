"""The argilla-server's own virtual environment, created once and reused.

Its pins (fastapi ~0.115, pydantic ~2.9, typer 0.9) clash with Gradio 6 in the studio's venv. typer 0.9
breaks on click ≥ 8.2 ("Secondary flag is not valid for non-boolean flag"), hence `click<8.2`; and
huggingface-hub 1.x dropped APIs the server imports, hence `<1`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from annotation.errors import AnnotationError
from store.locks import file_lock

SERVER_REQUIREMENTS = ("argilla-server==2.8.0", "click<8.2", "huggingface-hub<1")
REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 900


def server_venv_dir() -> Path:
    """`STUDIO_ARGILLA_VENV`, else `<repo>/.studio/argilla-venv` (shared by every data dir and test)."""
    configured = os.environ.get("STUDIO_ARGILLA_VENV")
    return Path(configured).expanduser().resolve() if configured else REPO_ROOT / ".studio" / "argilla-venv"


def server_python(venv: Path | None = None) -> Path:
    return (venv or server_venv_dir()) / "bin" / "python"


def ensure_server_venv(venv: Path | None = None, say=print) -> Path:
    """The venv's python, installing argilla-server first if the venv is missing or has other pins."""
    venv = venv or server_venv_dir()
    marker = venv / ".studio-requirements"
    wanted = "\n".join(SERVER_REQUIREMENTS)
    if _read(marker) == wanted and server_python(venv).exists():
        return server_python(venv)
    with file_lock(venv.with_name(venv.name + ".lock"), timeout_s=INSTALL_TIMEOUT_S):
        if _read(marker) == wanted and server_python(venv).exists():
            return server_python(venv)  # another process installed it while we waited
        say(f"installing {', '.join(SERVER_REQUIREMENTS)} into {venv} (once)")
        if not server_python(venv).exists():
            _run([sys.executable, "-m", "venv", str(venv)], "create the argilla-server venv")
        pip = [str(server_python(venv)), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        _run([*pip, *SERVER_REQUIREMENTS], "install argilla-server")
        marker.write_text(wanted)
    return server_python(venv)


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except FileNotFoundError:
        return None


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
    if result.returncode != 0:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise AnnotationError(f"could not {what} (exit {result.returncode}): {tail}")
