"""Playground: one prompt answered by the base model and by a run's adapter, side by side. For RPS runs,
a direction slider and the candidates with the selected one marked. Generation runs on a worker
(`studio.generate`): the studio never loads a model itself."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd

from recipes.errors import RecipeError
from recipes.io import parse_recipe
from store import queue
from store.errors import StoreError
from store.tables import RunStatus, UserRole
from studio import ui_runs
from studio.auth import Access

BASE_ONLY = "(base model only)"
GENERATE_TIMEOUT_S = 300.0


def build(access: Access) -> dict[str, Any]:
    with gr.Row():
        picker = gr.Dropdown(label="Adapter of run", choices=[BASE_ONLY], value=BASE_ONLY, elem_id="play-run")
        tokens = gr.Slider(1, 512, value=64, step=1, label="Max new tokens", elem_id="play-tokens")
    with gr.Group(visible=False) as rps_box:
        angle = gr.Slider(
            -90,
            90,
            value=0,
            step=1,
            label="Preference direction (degrees between the two "
            "objectives: 0° = all the first, 90° = all the second)",
            elem_id="play-direction",
        )
    prompt = gr.Textbox(label="Prompt", lines=3, elem_id="play-prompt")
    go = gr.Button("Answer", variant="primary", elem_id="play-go")
    with gr.Row():
        base = gr.Textbox(label="Base model", lines=8, elem_id="play-base")
        adapted = gr.Textbox(label="With the adapter", lines=8, elem_id="play-adapter")
    candidates = gr.Dataframe(headers=["", "direction (°)", "score", "text"], visible=False,
                              label="RPS candidates (★ = selected)", elem_id="play-candidates")  # fmt: skip

    def answer(request: gr.Request, run_id: str, text: str, max_tokens: float, degrees: float) -> list[Any]:
        access.require(request, UserRole.AUTHOR, "using the playground")
        if not text.strip():
            raise gr.Error("type a prompt first")
        run = None if run_id in (None, "", BASE_ONLY) else run_id
        direction = queue.direction_vector(degrees) if run and _method(run) == "rps" else None
        try:
            result = queue.generate(run, text, int(max_tokens), direction, timeout_s=GENERATE_TIMEOUT_S)
        except StoreError as exc:
            raise gr.Error(str(exc)) from None
        return [result.get("base", ""), result.get("adapter") or "", *_candidates(result)]

    def on_pick(run_id: str) -> Any:
        return gr.update(visible=bool(run_id) and run_id != BASE_ONLY and _method(run_id) == "rps")

    go.click(answer, [picker, prompt, tokens, angle], [base, adapted, candidates])
    picker.change(on_pick, picker, rps_box)

    def choices() -> Any:
        options = ui_runs.run_choices(ui_runs.recent_runs(), {RunStatus.SUCCEEDED})
        return gr.update(choices=[BASE_ONLY, *options])

    return {"picker": picker, "list_fn": choices}


def _method(run_id: str) -> str | None:
    run = ui_runs.find_run(run_id)
    try:
        return parse_recipe(run.recipe_yaml).method.method if run else None
    except RecipeError:
        return None


def _candidates(result: dict[str, Any]) -> list[Any]:
    rows = result.get("candidates") or []
    if not rows:
        return [gr.update(visible=False, value=None)]
    selected = result.get("selected")
    table = pd.DataFrame(
        [["★" if i == selected else "", row.get("direction_deg"), row.get("score"), row.get("text")]
         for i, row in enumerate(rows)],
        columns=["", "direction (°)", "score", "text"],
    )  # fmt: skip
    return [gr.update(visible=True, value=table)]
