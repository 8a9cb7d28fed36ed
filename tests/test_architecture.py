"""Machines enforce the boundaries and the style (architecture §5.9)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_is_clean():
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_import_linter_contracts_hold():
    result = _run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_importing_the_studio_does_not_import_torch():
    code = "import sys, studio.cli; print({'torch', 'transformers', 'peft', 'workers'} & set(sys.modules))"
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "set()"


def test_importing_recipes_and_store_does_not_import_torch():
    code = "import sys, recipes, store.runs, store.queue; print({'torch', 'transformers'} & set(sys.modules))"
    result = _run(sys.executable, "-c", code)
    assert result.returncode == 0, result.stderr
    assert "torch" not in result.stdout


def test_every_recipe_method_has_a_runner():
    from recipes.methods import METHOD_SPECS
    from workers.methods import RUNNERS

    assert set(RUNNERS) == set(METHOD_SPECS)
