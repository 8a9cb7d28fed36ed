"""The studio web app (Gradio 6): Recipes, Annotation, Runs, Results and Playground tabs.

All state lives in the DB (runs, events, artifacts, users) and the queue: closing the browser or
restarting this process changes nothing for a run. `python -m studio.app --host H --port P` serves it
(that is what `studio app` and `studio up` run).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from functools import partial
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no telemetry calls from a studio

import gradio as gr  # noqa: E402 - after the telemetry switch above
from gradio.context import get_blocks_context  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from store.db import ensure_schema  # noqa: E402
from store.tables import RunStatus  # noqa: E402
from studio import ui_runs  # noqa: E402
from studio.annotation_view import AnnotationView, StoreAnnotationView  # noqa: E402
from studio.auth import Access, check_login, first_start_password, login_required  # noqa: E402
from studio.first_load import AssetCache, PreloadLinks, preload_head  # noqa: E402
from studio.tabs import annotation, playground, recipes, results  # noqa: E402
from studio.tabs import runs as runs_tab  # noqa: E402
from studio.ui_live_form import SYNC  # noqa: E402

DEFAULT_PORT = 7860
# System fonts: the default theme's web fonts are ~140 kB more for the first page to fetch and lay out.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
CSS = """
.field-invalid .info-text { color: #b91c1c; font-weight: 600; }
.section-help { color: #4b5563; font-size: 0.9em; }
#recipe-yaml textarea { font-family: ui-monospace, monospace; font-size: 0.85em; white-space: pre; }
"""


def build_app(access: Access, view: AnnotationView | None = None) -> gr.Blocks:
    view = view or StoreAnnotationView()
    with gr.Blocks(title="Alignment Studio", analytics_enabled=False) as demo:
        with gr.Row():
            gr.Markdown("## Alignment Studio")
            # Without login the greeting is fixed: no load event, no round trip before the page is ready.
            who = gr.Markdown("" if access.login else access.greeting(None), elem_id="signed-in")
        # "wrap": the five tabs fit; "menu" (the default) measures every tab's width after it mounts to
        # decide which overflow into a menu, a forced layout of the whole first page.
        with gr.Tabs(overflow_behavior="wrap") as tabs:
            with gr.Tab("Recipes", id="recipes", elem_id="tab-recipes"):
                recipe_parts = recipes.build(access)
            with gr.Tab("Annotation", id="annotation", elem_id="tab-annotation") as tab:
                lazy_tab(tab, lambda visits: annotation.build(access, view, visits))
            with gr.Tab(runs_tab.TAB_LABEL, id="runs", elem_id="tab-runs") as tab:
                rerun = partial(_wire_rerun, recipe_parts=recipe_parts, tabs=tabs)
                lazy_tab(tab, lambda visits: runs_tab.build(access, tabs, rerun))
            with gr.Tab("Results", id="results", elem_id="tab-results") as tab:
                lazy_tab(tab, lambda visits: results.build(access, visits))
            with gr.Tab("Playground", id="playground", elem_id="tab-playground") as tab:
                lazy_tab(tab, lambda visits: playground.build(access, visits))

        def greeting(request: gr.Request) -> str:
            return access.greeting(request)

        if access.login:
            demo.load(greeting, None, who, show_progress="hidden")
    for function in demo.fns.values():
        # The studio is a web app, not an API: no endpoint docs (they would list every form field of
        # every event) and no calls from the Gradio client libraries.
        function.api_visibility = "private"
    return demo


def lazy_tab(tab: gr.Tab, build: Callable[[gr.State], None]) -> None:
    """Build the tab's content the first time it is opened in a page, not with the page: the first
    load then carries one tab's components, not five (issue 6). Later visits keep what the user left
    there; `build(visits)` may refresh its lists on `visits.change` (the tab's own select event is
    taken: Gradio 6 keeps one listener per trigger once a render block adds one)."""
    opened, visits = gr.State(False), gr.State(0)
    tab.select(lambda n: (True, n + 1), visits, [opened, visits], show_progress="hidden")

    @gr.render(triggers=[opened.change], show_progress="hidden")
    def _content() -> None:
        build(visits)
        for function in get_blocks_context().fns.values():
            function.api_visibility = "private"


def _wire_rerun(
    button: gr.Button, picker: gr.Dropdown, timer: gr.Timer, recipe_parts: dict[str, Any], tabs: gr.Tabs
) -> None:
    """ "Re-run with changes": the run's frozen recipe goes into the Recipes tab's YAML and form (and
    the Runs tab's timer stops: switching tabs from code fires no select event)."""

    def run_yaml(run_id: str | None) -> list[Any]:
        run = ui_runs.find_run(run_id)
        if run is None:
            raise gr.Error("pick a run first")
        return [run.recipe_yaml, gr.Tabs(selected="recipes"), gr.Timer(active=False)]

    apply = recipe_parts["load_yaml"]
    button.click(run_yaml, picker, [recipe_parts["code"], tabs, timer]).then(
        apply["fn"], apply["inputs"], apply["outputs"], **SYNC
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
    note = "login required" if login else "no login, loopback only"
    print(f"studio app listening on http://{host}:{port} ({note}; {running} run(s) running)", flush=True)
    demo.launch(
        server_name=host, server_port=port, auth=check_login if login else None,
        prevent_thread_lock=not block, css=CSS, theme=THEME, show_error=False, quiet=True, footer_links=[],
        app_kwargs=_first_load_middleware(demo),
        auth_message="Alignment Studio: sign in with your studio account.",
    )  # fmt: skip
    return demo


def _first_load_middleware(demo: gr.Blocks) -> dict[str, Any]:
    """studio.first_load: preload tags for the first view's code; static files from memory. The tags
    are made at the first page request: the theme's hash is only known once the app is launched."""
    head = partial(first_view_preloads, demo)
    return {"middleware": [Middleware(PreloadLinks, head=head), Middleware(AssetCache)]}


def first_view_preloads(demo: gr.Blocks) -> str:
    config = demo.get_config_file()
    components = config.get("components", [])
    kinds = [component.get("type", "") for component in components]  # outer layout first
    code = [c for c in components if c.get("type") == "code"]
    yaml_editor = any(c.get("props", {}).get("language") == "yaml" for c in code)
    return preload_head(kinds, yaml_editor=yaml_editor, theme_hash=config.get("theme_hash") or "")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m studio.app", description="Serve the studio web app.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--login", action="store_true", default=None, help="Require login even on loopback.")
    args = parser.parse_args(argv)
    serve(args.host, args.port, login=args.login)


if __name__ == "__main__":
    main(sys.argv[1:])
