"""Alignment Studio: the `studio` CLI (and later the Gradio app).

Talks to workers only through the DB (`store`) and the Redis queue; never imports `workers`.
"""

from pathlib import Path

# The repository root holds examples/ and the workers/ package the worker subprocess imports.
REPO_ROOT = Path(__file__).resolve().parents[1]
