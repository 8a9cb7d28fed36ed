"""Playground: one prompt answered by the base model and by a run's adapter, side by side. For RPS runs,
a direction slider between the run's two objectives, and RPS's candidates (their directions and
selection scores) with the one it selects marked. Generation runs on a worker (`studio.generate`): the
studio never loads a model itself."""

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
SELECTED = "★"


def build(access: Access, visits: gr.State) -> None:
    """The tab's content, inside its render block; the run list is re-read on every visit."""
    with gr.Row():
        picker = gr.Dropdown(label="Adapter of run", choices=run_options(), value=BASE_ONLY,
                             elem_id="play-run", interactive=True)  # fmt: skip
        tokens = gr.Slider(1, 512, value=64, step=1, label="Max new tokens", elem_id="play-tokens",
                           interactive=True)  # fmt: skip
    with gr.Group(visible=False) as rps_box:
        angle = gr.Slider(-90, 90, value=0, step=1, label="Preference direction (°)",
                          elem_id="play-direction", interactive=True)  # fmt: skip
        coverage = gr.Markdown("", elem_id="play-coverage")
    prompt = gr.Textbox(label="Prompt", lines=3, elem_id="play-prompt", interactive=True)
    go = gr.Button("Answer", variant="primary", elem_id="play-go")
    with gr.Row():
        base = gr.Textbox(label="Base model", lines=8, elem_id="play-base")
        adapted = gr.Textbox(label="With the adapter", lines=8, elem_id="play-adapter")
    rps_note = gr.Markdown("", visible=False, elem_id="play-rps-note")
    candidates = gr.Dataframe(visible=False, wrap=True, label=f"RPS candidates ({SELECTED} = selected)",
                              elem_id="play-candidates")  # fmt: skip

    def answer(request: gr.Request, run_id: str, text: str, max_tokens: float, degrees: float) -> list[Any]:
        access.require(request, UserRole.AUTHOR, "using the playground")
        if not (text or "").strip():
            raise gr.Error("type a prompt first")
        run = None if run_id in (None, "", BASE_ONLY) else run_id
        direction = queue.direction_vector(degrees) if run and rps_spec(run) is not None else None
        try:
            result = queue.generate(run, text, int(max_tokens), direction, timeout_s=GENERATE_TIMEOUT_S)
        except StoreError as exc:
            raise gr.Error(str(exc)) from None
        return [result.get("base", ""), result.get("adapter") or "", *candidate_view(result, degrees)]

    go.click(answer, [picker, prompt, tokens, angle], [base, adapted, rps_note, candidates])
    picker.change(direction_controls, picker, [rps_box, angle, coverage, rps_note, candidates])
    visits.change(lambda: gr.update(choices=run_options()), None, picker, show_progress="hidden")


def run_options() -> list[Any]:
    return [BASE_ONLY, *ui_runs.run_choices(ui_runs.recent_runs(), {RunStatus.SUCCEEDED})]


def rps_spec(run_id: str | None) -> Any | None:
    """The run's RPS settings, or None when it is not an RPS run (or its recipe no longer parses)."""
    run = ui_runs.find_run(run_id) if run_id and run_id != BASE_ONLY else None
    try:
        method = parse_recipe(run.recipe_yaml).method if run else None
    except RecipeError:
        return None
    return method if getattr(method, "method", None) == "rps" else None


def direction_controls(run_id: str | None) -> list[Any]:
    """Show the direction slider for an RPS run, named after its two objectives and its coverage."""
    spec = rps_spec(run_id)
    hidden = [gr.update(visible=False, value=""), gr.update(visible=False, value=None)]
    if spec is None:
        return [gr.update(visible=False), gr.update(), "", *hidden]
    first, second = spec.objectives
    label = f"Preference direction (°): 0° = all {first}, 90° = all {second}, 45° = both equally"
    middle = (spec.coverage_min_deg + spec.coverage_max_deg) / 2
    text = (f"Trained coverage: {spec.coverage_min_deg:g}° to {spec.coverage_max_deg:g}°. RPS draws one "
            f"candidate at each of up to {spec.k} grid directions near yours and keeps the one its selection "
            f"reward model scores highest along your direction.")  # fmt: skip
    return [gr.update(visible=True), gr.update(label=label, value=middle), text, *hidden]


def candidate_view(result: dict[str, Any], degrees: float) -> list[Any]:
    """[note, table] for RPS's candidates: direction, score along the target, per-objective scores."""
    rows = result.get("candidates") or []
    if not rows:
        return [gr.update(visible=False, value=""), gr.update(visible=False, value=None)]
    selected = result.get("selected")
    objectives = list(rows[0].get("objective_scores") or {})
    table = pd.DataFrame(
        [[SELECTED if i == selected else "", round(float(row["direction_deg"]), 1),
          round(float(row["score"]), 4),
          *(round(float(row["objective_scores"][name]), 4) for name in objectives), row["text"]]
         for i, row in enumerate(rows)],
        columns=["", "direction (°)", "score along target", *objectives, "text"],
    )  # fmt: skip
    picked = rows[selected] if isinstance(selected, int) and 0 <= selected < len(rows) else None
    note = f"RPS selected candidate {selected + 1} of {len(rows)}" if picked else "RPS selected no candidate"
    if picked:
        note += f" (drawn at {picked['direction_deg']:g}°) for your direction {degrees:g}°"
    if result.get("in_coverage") is False:
        note += " — outside the trained coverage: this is where RPS's selection matters most"
    return [gr.update(visible=True, value=note + "."), gr.update(visible=True, value=table)]
