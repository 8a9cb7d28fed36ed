"""`studio.export_merged`: a run's LoRA adapter merged into its base model, as a plain HF folder.

Written into the run's own folder (`<run>/merged/`), with the adapter's `studio_adapter.json` plus the
merge details, and recorded as the run's `merged_model` artifact. A second request reuses it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from recipes.io import parse_recipe
from store import runs, settings
from workers import modeling
from workers.adapter_io import ADAPTER_METADATA_FILE, library_versions
from workers.errors import UserFacingError

MERGED_DIR = "merged"
MERGED_ARTIFACT = "merged_model"


def export_merged(run_id: str) -> dict[str, Any]:
    """{"path": merged folder, "metadata": its studio_adapter.json} (JSON)."""
    run = runs.get_run(run_id)
    out_dir = settings.runs_dir(run.id) / MERGED_DIR
    meta_path = out_dir / ADAPTER_METADATA_FILE
    if meta_path.is_file():
        return {"path": str(out_dir), "metadata": json.loads(meta_path.read_text())}
    adapters = [Path(a.path) for a in runs.artifacts(run.id) if a.kind == "adapter"]
    if not adapters or not adapters[-1].is_dir():
        raise UserFacingError(f"run {run.id} has no adapter (it is {run.status}): pick a succeeded run")
    recipe = parse_recipe(run.recipe_yaml)
    metadata = _merge(recipe, adapters[-1], out_dir)
    runs.add_artifact(run.id, MERGED_ARTIFACT, out_dir)
    return {"path": str(out_dir), "metadata": metadata}


def _merge(recipe, adapter_dir: Path, out_dir: Path) -> dict[str, Any]:
    from peft import PeftModel

    path = modeling.resolve_model(recipe.model.name_or_path, recipe.model.revision)
    base = modeling.load_base_model(path, recipe.model.dtype, recipe.model.revision)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    merged.save_pretrained(tmp)
    modeling.load_tokenizer(path, recipe.model.revision).save_pretrained(tmp)
    metadata = json.loads((adapter_dir / ADAPTER_METADATA_FILE).read_text())
    metadata["merged"] = {"from_adapter": str(adapter_dir), "versions": library_versions()}
    (tmp / ADAPTER_METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)  # whole or nothing: a crash mid-save leaves no half folder behind
    return metadata
