"""The playground: one prompt answered by the base model and by a run's adapter (`studio.generate`).

Greedy decoding, so the base and adapter answers differ only because of the adapter. For an RPS run
the answer also carries RPS's candidates along the asked direction (`workers.methods.rps`): each with
the grid direction it was drawn at, its selection score along the target and its per-objective scores,
plus the index RPS selects and whether the direction lies inside the trained coverage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from recipes.io import parse_recipe
from store import runs
from workers import modeling
from workers.errors import UserFacingError
from workers.generation import generate

MAX_NEW_TOKENS_LIMIT = 1024
NO_CANDIDATES = {"candidates": [], "selected": None, "in_coverage": None}


def answer(
    run_id: str | None, prompt: str, max_new_tokens: int = 64, direction: list[float] | None = None
) -> dict[str, Any]:
    """{"base": str, "adapter": str | None, "candidates": list, "selected": int | None,
    "in_coverage": bool | None} (JSON); the last three are filled for RPS runs only."""
    if not prompt.strip():
        raise UserFacingError("the prompt is empty: type a question first")
    max_new_tokens = max(1, min(int(max_new_tokens), MAX_NEW_TOKENS_LIMIT))
    recipe, adapter_dir = _run_recipe_and_adapter(run_id)
    model_name = recipe.model.name_or_path if recipe else modeling.BUILTIN_ALIAS
    path = modeling.resolve_model(model_name, recipe.model.revision if recipe else None)
    tokenizer = modeling.load_tokenizer(path)
    base = modeling.load_base_model(path, "float32")
    chat = recipe.model.use_chat_template if recipe else True
    options = {"max_new_tokens": max_new_tokens, "temperature": 0.0, "use_chat_template": chat}
    if adapter_dir is None:
        base_text = generate(base, tokenizer, [prompt], **options).texts[0]
        return {"base": base_text, "adapter": None, **NO_CANDIDATES}
    from peft import PeftModel

    model = PeftModel.from_pretrained(base, str(adapter_dir))
    base_text = generate(model, tokenizer, [prompt], adapter_disabled=True, **options).texts[0]
    adapter_text = generate(model, tokenizer, [prompt], **options).texts[0]
    result = {"base": base_text, "adapter": adapter_text, **NO_CANDIDATES}
    if recipe.method.method == "rps":
        result.update(rps_candidates(model, tokenizer, recipe, adapter_dir, prompt, direction))
    return result


def rps_candidates(model, tokenizer, recipe, adapter_dir: Path, prompt: str, direction) -> dict[str, Any]:
    """RPS's candidates along `direction` (an (x, y) vector or degrees; None: 0°), as plain JSON."""
    from workers.methods.rps import generate_candidates

    out = generate_candidates(model, tokenizer, recipe, adapter_dir, prompt, direction)
    candidates = [
        {"direction_deg": float(c["direction_deg"]), "text": str(c["text"]), "score": float(c["score"]),
         "objective_scores": {name: float(v) for name, v in c["objective_scores"].items()}}
        for c in out["candidates"]
    ]  # fmt: skip
    selected = out.get("selected")
    return {"candidates": candidates, "selected": None if selected is None else int(selected),
            "in_coverage": bool(out["in_coverage"])}  # fmt: skip


def _run_recipe_and_adapter(run_id: str | None):
    """(recipe, adapter folder) of a finished run; (None, None) for the plain base model."""
    if not run_id:
        return None, None
    run = runs.get_run(run_id)
    recipe = parse_recipe(run.recipe_yaml)
    adapters = [Path(a.path) for a in runs.artifacts(run.id) if a.kind == "adapter"]
    if not adapters or not adapters[-1].is_dir():
        raise UserFacingError(f"run {run.id} has no adapter (it is {run.status}): pick a succeeded run")
    return recipe, adapters[-1]
