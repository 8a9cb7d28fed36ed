"""What machine and library versions a benchmark ran on, for the lines under each docs table."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib.metadata import version


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown CPU"
    found = re.search(r"^Model name:\s*(.+)$", out, re.MULTILINE)
    return f"{found.group(1).strip() if found else 'unknown CPU'}, {os.cpu_count()} logical CPUs"


def versions(names: tuple[str, ...]) -> str:
    return ", ".join(f"{name} {version(name)}" for name in names)
