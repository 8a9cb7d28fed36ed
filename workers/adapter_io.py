"""Saving the trained adapter as a plain PEFT folder plus a versioned metadata file."""

from __future__ import annotations

import json
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ADAPTER_METADATA_FILE = "studio_adapter.json"
ADAPTER_METADATA_VERSION = 1


def library_versions() -> dict[str, str]:
    names = ("alignment-studio", "torch", "transformers", "peft", "accelerate")
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    versions["python"] = platform.python_version()
    return versions


def save_adapter(
    model, tokenizer, out_dir: Path, *, recipe, recipe_hash: str, base_path: str, metrics: dict[str, Any]
) -> Path:
    """`PeftModel.from_pretrained(base, out_dir)` loads it; the tokenizer rides along for convenience."""
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    meta = {
        "metadata_version": ADAPTER_METADATA_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "recipe_name": recipe.name,
        "recipe_hash": recipe_hash,
        "recipe_schema_version": recipe.schema_version,
        "method": recipe.method.method,
        "base_model": recipe.model.name_or_path,
        "base_model_path": base_path,
        "versions": library_versions(),
        "metrics": metrics,
    }
    (out_dir / ADAPTER_METADATA_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return out_dir
