"""Download a run's PEFT adapter as a zip, or the base model with the adapter merged in (a worker task:
merging needs peft, which the studio never imports). Each comes with its studio_adapter.json."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import gradio as gr

from store import queue, runs
from store.errors import StoreError
from store.tables import UserRole
from studio import ui_files
from studio.auth import Access

MERGE_TIMEOUT_S = 900.0


def build(access: Access, picker: gr.Dropdown, first: str | None = None) -> dict[str, Any]:
    metadata = gr.JSON(_metadata_or_empty(first), label="studio_adapter.json", elem_id="adapter-metadata")
    with gr.Row():
        prepare = gr.Button("Prepare adapter zip", elem_id="prepare-adapter")
        merge = gr.Button("Export merged model (runs on a worker)", elem_id="prepare-merged")
    note = gr.Markdown("", elem_id="download-note")
    with gr.Row():
        adapter_file = gr.DownloadButton("Download adapter zip", visible=False, elem_id="download-adapter")
        merged_file = gr.DownloadButton("Download merged model zip", visible=False, elem_id="download-merged")

    def prepare_adapter(request: gr.Request, run_id: str | None) -> list[Any]:
        access.require(request, UserRole.AUTHOR, "downloading an adapter")
        folder = _artifact(run_id, "adapter")
        archive = _served_copy(ui_files.adapter_zip(run_id, folder))
        return [gr.update(value=str(archive), visible=True), ui_files.adapter_metadata(folder),
                f"Adapter of {run_id} ready ({archive.stat().st_size / 1e6:.1f} MB)."]  # fmt: skip

    def prepare_merged(request: gr.Request, run_id: str | None) -> list[Any]:
        access.require(request, UserRole.AUTHOR, "downloading a merged model")
        _artifact(run_id, "adapter")  # fail fast, before a worker is asked
        try:
            result = queue.export_merged(run_id, timeout_s=MERGE_TIMEOUT_S)
        except StoreError as exc:
            raise gr.Error(str(exc)) from None
        archive = _served_copy(ui_files.merged_zip(run_id, result["path"]))
        return [gr.update(value=str(archive), visible=True), result.get("metadata") or {},
                f"Merged model of {run_id} ready ({archive.stat().st_size / 1e6:.1f} MB)."]  # fmt: skip

    def show_metadata(run_id: str | None) -> list[Any]:
        hidden = gr.update(visible=False)
        return [_metadata_or_empty(run_id), hidden, hidden]

    prepare.click(prepare_adapter, picker, [adapter_file, metadata, note])
    merge.click(prepare_merged, picker, [merged_file, metadata, note])
    picker.change(show_metadata, picker, [metadata, adapter_file, merged_file])
    return {"adapter_file": adapter_file, "merged_file": merged_file}


def _metadata_or_empty(run_id: str | None) -> dict[str, Any]:
    try:
        return ui_files.adapter_metadata(_artifact(run_id, "adapter"))
    except gr.Error:
        return {}


def _artifact(run_id: str | None, kind: str) -> Path:
    if not run_id:
        raise gr.Error("pick a succeeded run first")
    folders = [Path(a.path) for a in runs.artifacts(run_id) if a.kind == kind]
    if not folders or not folders[-1].is_dir():
        raise gr.Error(f"run {run_id} has no {kind}: only a succeeded run has one")
    return folders[-1]


def _served_copy(archive: Path) -> Path:
    """A private copy for Gradio to serve: the data folder itself is never exposed over HTTP."""
    target = Path(tempfile.mkdtemp(prefix="studio-download-")) / archive.name
    shutil.copyfile(archive, target)
    return target
