"""What the first page carries (issue 6: under 1 s with a busy DB), the Runs tab's polling, the curves."""

from __future__ import annotations

import gradio as gr

from recipes.io import recipe_json_schema
from store import runs
from store.tables import RunStatus
from studio import forms, ui_curves, ui_form
from studio.app import build_app
from studio.auth import Access
from studio.tabs import recipes as recipes_tab
from studio.tabs import runs as runs_tab


def _config() -> dict:
    return build_app(Access(login=False)).get_config_file()


def test_the_first_page_carries_one_method_one_source_and_no_other_tab() -> None:
    components = _config()["components"]
    ids = [c["props"].get("elem_id") or "" for c in components]
    assert any(i == "field-method-dpo-beta" for i in ids)  # the starting member is on the page at once
    assert not [i for i in ids if i.startswith(("field-method-pro", "field-method-rps", "field-data-hub"))]
    for built_when_opened in ("runs-table", "report-picker", "play-prompt", "annotation-state"):
        assert built_when_opened not in ids
    assert not [c for c in components if c["type"] == "code"], "no code editor (CodeMirror) on the first page"
    # 631 with every member and tab built up front and an error line per widget; 175 now.
    assert len(components) < 220, len(components)


def test_the_first_view_opens_only_the_data_and_the_method() -> None:
    """Each drawn widget slows the first page load; Gradio draws none of a closed section's."""
    opened = {c["props"].get("elem_id") for c in _config()["components"]
              if c["type"] == "accordion" and c["props"].get("open")}  # fmt: skip
    assert opened == {"section-data", "section-method"}, opened


def test_a_problem_in_a_folded_section_opens_it() -> None:
    tree = forms.form_tree(recipe_json_schema())
    start = forms.values_from_recipe(tree, recipes_tab.STARTER)
    with gr.Blocks():
        form = ui_form.render(
            tree, start, open_paths=recipes_tab.OPEN_SECTIONS, more=recipes_tab.MORE_DATA_FIELDS
        )
    assert "data.file.limit" in form.contents["data.file.more"]
    placed = {"data.file.limit": ["must be greater than 0"], "training.batch_size": ["must be at least 1"]}
    opened = {key for key, update in zip(form.sections, form.section_updates(placed), strict=True)
              if isinstance(update, dict) and update.get("open")}  # fmt: skip
    assert opened == {"data.file.more", "training"}


def _run_with_events(steps: int) -> str:
    run = runs.create_run("name: r\n", "r", "0" * 64)
    runs.mark_running(run.id, worker="test")
    for step in range(1, steps + 1):
        metrics = {"rewards/accuracy": 0.5, "logps/chosen": -3.0, "logps/rejected": -4.0}
        runs.append_event(run.id, step=step, total=steps, loss=1.0 / step, metrics=metrics)
    return run.id


def test_poll_reads_the_events_only_when_the_run_logged_something_new() -> None:
    run_id = _run_with_events(3)
    first = runs_tab.poll(None, None)
    assert first[4] == "3 logged step(s)" and "data-points='3'" in first[5]
    assert RunStatus(runs.get_run(run_id).status) == RunStatus.RUNNING
    again = runs_tab.poll(run_id, first[-1])
    assert isinstance(again[5], type(gr.skip()))  # curves: not re-sent
    assert isinstance(again[0], type(gr.skip())) and isinstance(again[1], type(gr.skip()))  # list unchanged
    runs.append_event(run_id, step=4, total=4, loss=0.2, metrics={})
    third = runs_tab.poll(run_id, again[-1])
    assert third[4] == "4 logged step(s)" and "data-points='4'" in third[5]


def test_curves_are_one_html_fragment_with_a_panel_per_metric_and_thinned_series() -> None:
    points = [(s, 1.0 / s, {"rewards/margin": s * 0.1, "logps/chosen": -s, "logps/rejected": -s - 1.0})
              for s in range(1, 1001)]  # fmt: skip
    html = ui_curves.curves_html(points)
    assert html.count("<svg") == 3  # loss, margin, log-probs; accuracy was never logged
    assert "id='curve-reward-accuracy' data-points='0'" in html and "no data yet" in html
    assert "data-points='334'" in html  # 1000 points thinned to every 3rd, plus the last
    assert "logps/rejected" in html and "nan" not in html.lower()
