"""Files the studio reads or serves on a user's behalf: uploads, data previews, adapter zips.

One rule (issue 6): no path a user typed or uploaded reaches the filesystem unless it resolves inside
the data root (`store.settings.data_dir()`); `inside_data_root` is the one gate, and every function
here goes through it. Symlinks are resolved first, so a link inside the root cannot point outside.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

from store import settings

UPLOADS = "uploads"
DOWNLOADS = "downloads"
PREVIEW_ROWS = 5
ADAPTER_METADATA_FILE = "studio_adapter.json"  # written next to every adapter by the worker
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class UnsafePath(ValueError):
    """A path outside the data root; the message says where files must live."""


def inside_data_root(path: str | Path) -> Path:
    """`path` resolved (relative paths start at the data root); UnsafePath unless it lies inside it."""
    root = settings.data_dir().resolve()
    candidate = Path(path).expanduser()
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if resolved != root and root not in resolved.parents:
        raise UnsafePath(f"{path} is outside the studio's data folder {root}: upload the file instead")
    return resolved


def save_upload(temp_path: str | Path) -> Path:
    """Copy an uploaded file into `<data root>/uploads/<sha256 prefix>/<its name>` and return that path.

    Named by content, so uploading the same file twice gives the same path (and one copy).
    """
    source = Path(temp_path)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    name = _SAFE_NAME.sub("_", source.name).strip("._") or "data"
    target = inside_data_root(Path(UPLOADS) / digest / name)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return target


def preview_rows(path: str | Path, limit: int = PREVIEW_ROWS) -> list[dict[str, Any]]:
    """The first rows of a JSONL, JSON or CSV data file (Parquet needs the worker's libraries)."""
    file = inside_data_root(path)
    suffix = file.suffix.lower()
    if suffix == ".jsonl":
        rows = []
        with file.open(encoding="utf-8", errors="replace") as handle:
            for line in handle:
                if line.strip():
                    rows.append(json.loads(line))
                if len(rows) >= limit:
                    break
        return rows
    if suffix == ".json":
        data = json.loads(file.read_text(encoding="utf-8"))
        return list(data[:limit]) if isinstance(data, list) else [data]
    if suffix == ".csv":
        with file.open(encoding="utf-8", errors="replace", newline="") as handle:
            return [row for _, row in zip(range(limit), csv.DictReader(handle), strict=False)]
    raise ValueError(f"no preview for {suffix or 'this'} files; JSONL, JSON and CSV can be previewed")


def columns_of(rows: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(key for row in rows if isinstance(row, dict) for key in row))


def adapter_zip(run_id: str, adapter_dir: str | Path) -> Path:
    """A zip of the run's PEFT adapter folder (with its studio_adapter.json), built once per run."""
    return _zip_folder(run_id, "adapter", adapter_dir)


def merged_zip(run_id: str, merged_dir: str | Path) -> Path:
    return _zip_folder(run_id, "merged", merged_dir)


def _zip_folder(run_id: str, what: str, folder: str | Path) -> Path:
    source = inside_data_root(folder)
    if not source.is_dir():
        raise FileNotFoundError(f"the {what} folder of run {run_id} is gone: {source}")
    target = inside_data_root(Path(DOWNLOADS) / f"{run_id}-{what}.zip")
    if target.exists() and target.stat().st_mtime >= _newest_mtime(source):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(source.rglob("*")):
            if file.is_file():
                archive.write(file, Path(f"{run_id}-{what}") / file.relative_to(source))
    partial.replace(target)  # a reader never sees a half-written zip
    return target


def _newest_mtime(folder: Path) -> float:
    return max((f.stat().st_mtime for f in folder.rglob("*") if f.is_file()), default=0.0)


def adapter_metadata(adapter_dir: str | Path) -> dict[str, Any]:
    """The adapter's studio_adapter.json (recipe hash, versions, metrics), or {} when absent."""
    try:
        meta = inside_data_root(adapter_dir) / ADAPTER_METADATA_FILE
        return json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_text_inside(path: str | Path, max_chars: int | None = None) -> str:
    """A text file under the data root ('' when missing); with max_chars, only its end."""
    try:
        file = inside_data_root(path)
        if max_chars is None:
            return file.read_text(encoding="utf-8", errors="replace")
        with file.open("rb") as handle:
            handle.seek(0, io.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - max_chars * 4))
            return handle.read().decode("utf-8", errors="replace")[-max_chars:]
    except (OSError, UnsafePath):
        return ""
