"""The studio web app (Gradio 6): Recipes, Annotation, Runs, Results and Playground tabs.

All state lives in the DB (runs, events, artifacts, users) and the queue: closing the browser or
restarting this process changes nothing for a run. `python -m studio.app --host H --port P` serves it
(that is what `studio app` and `studio up` run).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry calls from a studio

import gradio as gr  # noqa: E402 - after the telemetry switch above

from store.db import ensure_schema  # noqa: E402
from store.tables import RunStatus  # noqa: E402
from studio import ui_runs  # noqa: E402
from studio.annotation_view import AnnotationView, StoreAnnotationView  # noqa: E402
from studio.auth import Access, check_login, first_start_password, login_required  # noqa: E402
from studio.tabs import annotation, playground, recipes, results  # noqa: E402
from studio.tabs import runs as runs_tab  # noqa: E402

DEFAULT_PORT = 7860
CSS = """
.field-error { color: #b91c1c; font-weight: 600; margin-top: -6px; }
.section-help { color: #4b5563; font-size: 0.9em; }
"""


def build_app(access: Access, view: AnnotationView | None = None) -> gr.Blocks:
    view = view or StoreAnnotationView()
    with gr.Blocks(title="Alignment Studio", analytics_enabled=False) as demo:
        with gr.Row():
            gr.Markdown("## Alignment Studio")
            who = gr.Markdown("", elem_id="signed-in")
        with gr.Tabs() as tabs:
            with gr.Tab("Recipes", id="recipes", elem_id="tab-recipes"):
                recipe_parts = recipes.build(access)
            with gr.Tab("Annotation", id="annotation", elem_id="tab-annotation") as annotation_tab:
                annotation_parts = annotation.build(access, view)
            with gr.Tab("Runs", id="runs", elem_id="tab-runs"):
                run_parts = runs_tab.build(access)
            with gr.Tab("Results", id="results", elem_id="tab-results") as results_tab:
                result_parts = results.build(access)
            with gr.Tab("Playground", id="playground", elem_id="tab-playground") as playground_tab:
                play_parts = playground.build(access)

        def greeting(request: gr.Request) -> str:
            return access.greeting(request)

        demo.load(greeting, None, who)
        demo.load(
            run_parts["load_fn"], run_parts["load_inputs"], run_parts["load_outputs"], show_progress="hidden"
        )
        # Lists are read when their tab opens (not on every timer tick): fresh, and cheap to switch to.
        results_tab.select(
            result_parts["list_fn"], None, result_parts["list_outputs"], show_progress="hidden"
        )
        playground_tab.select(play_parts["list_fn"], None, play_parts["picker"], show_progress="hidden")
        annotation_tab.select(annotation_parts["load_fn"], None, annotation_parts["load_outputs"],
                              show_progress="hidden")  # fmt: skip
        _wire_rerun(run_parts, recipe_parts, tabs)
    for function in demo.fns.values():
        # The studio is a web app, not an API: no endpoint docs (they would list every form field of
        # every event, megabytes of config) and no calls from the Gradio client libraries.
        function.api_visibility = "private"
    return demo


def _wire_rerun(run_parts: dict[str, Any], recipe_parts: dict[str, Any], tabs: gr.Tabs) -> None:
    """ "Re-run with changes": the run's frozen recipe goes into the Recipes tab's YAML and form."""

    def run_yaml(run_id: str | None) -> list[Any]:
        run = ui_runs.find_run(run_id)
        if run is None:
            raise gr.Error("pick a run first")
        return [run.recipe_yaml, gr.Tabs(selected="recipes")]

    apply = recipe_parts["load_yaml"]
    run_parts["rerun"].click(run_yaml, run_parts["picker"], [recipe_parts["code"], tabs]).then(
        apply["fn"], apply["inputs"], apply["outputs"]
    )


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, login: bool | None = None, block: bool = True):
    """Migrate the DB, make sure an admin exists when login is on, and serve the app."""
    ensure_schema()
    login = login_required(host) if login is None else login
    if login:
        password = first_start_password()
        if password:
            # Printed once, here; only its hash is stored.
            print(f"first start: created user 'admin' with password {password} (change it: studio users)",
                  flush=True)  # fmt: skip
    demo = build_app(Access(login=login))
    demo.queue(default_concurrency_limit=4)
    running = sum(1 for r in ui_runs.recent_runs() if r.status == RunStatus.RUNNING)
    print(f"studio: http://{host}:{port} ({'login required' if login else 'no login, loopback only'}; "
          f"{running} run(s) running)", flush=True)  # fmt: skip
    demo.launch(
        server_name=host, server_port=port, auth=check_login if login else None,
        prevent_thread_lock=not block, css=CSS, show_error=False, quiet=True, footer_links=[],
        auth_message="Alignment Studio: sign in with your studio account.",
    )  # fmt: skip
    return demo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m studio.app", description="Serve the studio web app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--login", action="store_true", default=None, help="Require login even on loopback.")
    args = parser.parse_args(argv)
    serve(args.host, args.port, login=args.login)


if __name__ == "__main__":
    main(sys.argv[1:])
