"""workers.modeling: resolution, loading, LoRA, the tiny test model and the SmolLM2 conversion."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from workers import modeling
from workers.modeling import (
    MARKER_FILE,
    ModelResolutionError,
    apply_lora,
    ensure_converted,
    load_base_model,
    load_tokenizer,
    resolve_model,
)
from workers.tiny_llama import build_tiny_llama

ALL_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


# --- tiny model -----------------------------------------------------------------------------------


def test_tiny_model_loads_in_eval_mode_with_tied_embeddings(tiny_model_dir: Path) -> None:
    model = load_base_model(tiny_model_dir)
    assert not model.training
    assert model.config._attn_implementation == "sdpa"
    assert (model.config.hidden_size, model.config.num_hidden_layers, model.config.vocab_size) == (64, 2, 512)
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    logits = model(input_ids=torch.tensor([[1, 5, 9, 2]])).logits
    assert logits.shape == (1, 4, 512) and torch.isfinite(logits).all()


def test_tiny_model_loads_in_bfloat16(tiny_model_dir: Path) -> None:
    assert load_base_model(tiny_model_dir, dtype="bfloat16").dtype == torch.bfloat16


def test_unknown_dtype_is_rejected(tiny_model_dir: Path) -> None:
    with pytest.raises(ModelResolutionError, match="float64"):
        load_base_model(tiny_model_dir, dtype="float64")


def test_tiny_tokenizer_round_trips_text_and_has_distinct_pad_and_eos(tiny_model_dir: Path) -> None:
    tokenizer = load_tokenizer(tiny_model_dir)
    text = "Explain why the sky is blue. Déjà vu, 東京 and 🙂 too!\n  indented"
    ids = tokenizer(text)["input_ids"]
    assert tokenizer.decode(ids) == text
    assert len(ids) < len(text.encode())  # merges were learned, not just bytes
    assert (tokenizer.pad_token_id, tokenizer.bos_token_id, tokenizer.eos_token_id) == (0, 1, 2)


def test_tiny_chat_template_applies(tiny_model_dir: Path) -> None:
    tokenizer = load_tokenizer(tiny_model_dir)
    messages = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": "Hello."}]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
    prompt_ids = tokenizer.apply_chat_template(messages[:1], add_generation_prompt=True, tokenize=True)
    prompt_ids = prompt_ids["input_ids"] if isinstance(prompt_ids, dict) else prompt_ids
    assert tokenizer.decode(prompt_ids).endswith("<|im_start|>assistant\n")


def test_build_tiny_llama_is_deterministic_and_keeps_global_rng(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    first = build_tiny_llama(tmp_path / "a", seed=7)
    assert torch.rand(1).item() == expected_next.item()
    second = build_tiny_llama(tmp_path / "b", seed=7)
    other = build_tiny_llama(tmp_path / "c", seed=8)
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    assert (first / "model.safetensors").read_bytes() != (other / "model.safetensors").read_bytes()


def test_tiny_vocab_size_too_small_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="vocab_size"):
        build_tiny_llama(tmp_path / "m", vocab_size=100)


# --- LoRA -----------------------------------------------------------------------------------------


def test_lora_attaches_with_expected_trainable_parameter_count(tiny_model_dir: Path) -> None:
    spec = SimpleNamespace(r=8, alpha=16.0, dropout=0.0, target_modules=ALL_PROJECTIONS)
    model = apply_lora(load_base_model(tiny_model_dir), spec)
    trainable = {n: p.numel() for n, p in model.named_parameters() if p.requires_grad}
    # Per layer, r * (in + out) for q 64->64, k 64->32, v 64->32, o 64->64, gate/up 64->128, down 128->64.
    per_layer = 8 * ((64 + 64) + (64 + 32) * 2 + (64 + 64) + (64 + 128) * 3)
    assert sum(trainable.values()) == 2 * per_layer == 16384
    assert all("lora_" in name for name in trainable)
    assert model.peft_config["default"].lora_alpha == 16.0


def test_lora_targets_only_the_named_modules(tiny_model_dir: Path) -> None:
    spec = SimpleNamespace(r=4, alpha=8.0, dropout=0.05, target_modules=("q_proj", "v_proj"))
    model = apply_lora(load_base_model(tiny_model_dir), spec)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == 2 * 4 * ((64 + 64) + (64 + 32))


# --- resolution -----------------------------------------------------------------------------------


def test_local_folder_resolves_to_itself(tiny_model_dir: Path) -> None:
    assert resolve_model(str(tiny_model_dir)) == tiny_model_dir.resolve()


def test_folder_without_config_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelResolutionError, match="no config.json"):
        resolve_model(str(tmp_path))
    with pytest.raises(ModelResolutionError, match="does not exist"):
        resolve_model(str(tmp_path / "missing" / "model"))


def test_unknown_hub_id_offline_fails_with_a_clear_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(modeling, "_in_hf_cache", lambda repo, revision: False)
    with pytest.raises(ModelResolutionError, match="offline.*smollm2-135m-instruct"):
        resolve_model("some-org/some-model")


def test_hub_id_is_returned_unchanged_when_online(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    assert resolve_model("some-org/some-model", revision="abc") == "some-org/some-model"


def test_smollm2_hub_id_maps_to_the_packaged_gguf_offline(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[Path] = []
    monkeypatch.setattr(modeling, "_in_hf_cache", lambda repo, revision: False)
    monkeypatch.setattr(modeling, "ensure_smollm2", lambda cache: calls.append(cache) or cache / "converted")
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct", cache_dir=tmp_path) == tmp_path / "converted"
    assert resolve_model("SmolLM2-135M-Instruct".lower()) == modeling.default_cache_dir() / "converted"
    assert calls == [tmp_path, modeling.default_cache_dir()]


def test_smollm2_hub_id_falls_back_when_the_hub_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    monkeypatch.setattr(modeling, "ensure_smollm2", lambda cache: cache / "converted")
    monkeypatch.setattr(modeling, "_hub_reachable", lambda: False)
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct", cache_dir=tmp_path) == tmp_path / "converted"
    monkeypatch.setattr(modeling, "_hub_reachable", lambda: True)
    assert resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"


def test_builtin_alias_rejects_a_revision() -> None:
    with pytest.raises(ModelResolutionError, match="no revisions"):
        resolve_model("smollm2-135m-instruct", revision="v2")


def test_default_cache_dir_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert modeling.default_cache_dir() == tmp_path / "studio-data" / "cache"  # conftest's data dir
    monkeypatch.setenv("STUDIO_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert modeling.default_cache_dir() == tmp_path / "elsewhere"


# --- conversion cache -----------------------------------------------------------------------------


def _slow_fake_convert(counter: list[int]):
    def convert(out: Path) -> None:
        counter.append(1)
        time.sleep(0.2)  # long enough that racing threads all arrive while it runs
        (out / "config.json").write_text("{}")

    return convert


def test_racing_callers_convert_once(tmp_path: Path) -> None:
    target, counter, results = tmp_path / "models" / "m", [], []
    convert = _slow_fake_convert(counter)
    threads = [
        threading.Thread(target=lambda: results.append(ensure_converted(target, "sha-1", convert)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counter == [1] and results == [target] * 4
    assert json.loads((target / MARKER_FILE).read_text())["source_sha256"] == "sha-1"
    assert sorted(p.name for p in target.parent.iterdir()) == [".m.lock", "m"]  # no temp folders left
    assert (target.stat().st_mode & 0o777, (target / "config.json").stat().st_mode & 0o777) == (0o755, 0o644)


def test_new_source_hash_reconverts_and_replaces(tmp_path: Path) -> None:
    target, counter = tmp_path / "m", []
    ensure_converted(target, "sha-1", _slow_fake_convert(counter))
    ensure_converted(target, "sha-1", _slow_fake_convert(counter))
    ensure_converted(target, "sha-2", _slow_fake_convert(counter))
    assert len(counter) == 2
    assert json.loads((target / MARKER_FILE).read_text())["source_sha256"] == "sha-2"


def test_failed_conversion_leaves_no_folder(tmp_path: Path) -> None:
    def broken(out: Path) -> None:
        (out / "half-written").write_text("x")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        ensure_converted(tmp_path / "m", "sha-1", broken)
    assert [p.name for p in tmp_path.iterdir()] == [".m.lock"]


# --- the real SmolLM2 -----------------------------------------------------------------------------


@pytest.mark.slow
def test_smollm2_gguf_converts_once_and_generates(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    try:
        modeling.smollm2_gguf_path()
    except ModelResolutionError as exc:
        pytest.skip(str(exc))
    folder = resolve_model("smollm2-135m-instruct", cache_dir=tmp_path)
    assert folder == tmp_path / "models" / "smollm2-135m-instruct"
    tokenizer, model = load_tokenizer(folder), load_base_model(folder)
    assert model.config.tie_word_embeddings and not hasattr(model.config, "quantization_config")
    assert (tokenizer.eos_token, tokenizer.pad_token) == ("<|im_end|>", "<|endoftext|>")
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    batch = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        assert torch.isfinite(model(**batch).logits).all()
        out = model.generate(**batch, max_new_tokens=12, do_sample=False)
    assert "Paris" in tokenizer.decode(out[0, batch["input_ids"].shape[1] :])

    def must_not_convert(*args: object) -> None:
        raise AssertionError("second resolve must be a cache hit")

    monkeypatch.setattr(modeling, "convert_smollm2_gguf", must_not_convert)
    started = time.perf_counter()
    assert resolve_model("smollm2-135m-instruct", cache_dir=tmp_path) == folder
    assert time.perf_counter() - started < 2.0
