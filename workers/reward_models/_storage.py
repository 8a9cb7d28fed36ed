"""On-disk form shared by the reward models: `<kind>.json` (metadata) + `<kind>.safetensors` (the heads).

The encoder itself is never saved: its name is, and loading checks that the encoder handed in (or the
bundled MiniLM, built from the name) is the one the heads were fitted on, because heads on another
feature space would score silently wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from workers.reward_models.encoders import MINILM_NAME, Encoder, MiniLMEncoder
from workers.reward_models.text_features import TEXT_FEATURES_SUFFIX, WithTextFeatures

FORMAT = "studio-reward-model"
VERSION = 1


def write(directory: Path | str, kind: str, meta: dict, tensors: dict[str, torch.Tensor]) -> Path:
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    body = {"format": FORMAT, "version": VERSION, "kind": kind, **meta}
    (folder / f"{kind}.json").write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")
    save_file(
        {k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(folder / f"{kind}.safetensors")
    )
    return folder


def read(directory: Path | str, kind: str) -> tuple[dict, dict[str, torch.Tensor]]:
    folder = Path(directory)
    meta_path = folder / f"{kind}.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"no {kind}.json in {folder}: not a saved {kind} reward model")
    meta = json.loads(meta_path.read_text())
    if meta.get("format") != FORMAT or meta.get("version") != VERSION:
        raise ValueError(
            f"{meta_path}: format {meta.get('format')!r} v{meta.get('version')} is not {FORMAT} v{VERSION}"
        )
    return meta, load_file(str(folder / f"{kind}.safetensors"))


MINILM_POOLS = {MINILM_NAME: "all", f"{MINILM_NAME}:response-pool": "response"}


def _rebuilt_minilm(saved: str) -> Encoder | None:
    """MiniLM (either pooling, with or without text features) from its saved name alone."""
    if saved in MINILM_POOLS:
        return MiniLMEncoder(pool=MINILM_POOLS[saved])
    base = saved.removesuffix(TEXT_FEATURES_SUFFIX)
    if base != saved and base in MINILM_POOLS:
        return WithTextFeatures(MiniLMEncoder(pool=MINILM_POOLS[base]))
    return None


def matching_encoder(meta: dict, encoder: Encoder | None) -> Encoder:
    """The encoder handed in if its name matches the saved one; MiniLM (either pooling, with or without
    text features) is rebuilt from its name alone, so a caller never has to know how the heads were fed.
    A plain MiniLMEncoder handed in counts as "rebuild it": callers pass one to mean "the bundled one"."""
    saved = meta["encoder"]
    rebuilt = _rebuilt_minilm(saved)
    if rebuilt is not None and (encoder is None or isinstance(encoder, MiniLMEncoder)):
        return rebuilt
    if encoder is None:
        raise ValueError(f"heads were fitted on {saved!r}: pass that encoder to load()")
    if encoder.name != meta["encoder"]:
        raise ValueError(f"heads were fitted on {meta['encoder']!r}, not on {encoder.name!r}")
    return encoder
