"""Annotation tab: the rubric editor (generated from the AnnotationSpec schema like the recipe form),
Publish, the published datasets with Sync, progress per annotator, agreement per criterion, and links
into the Argilla UI. Everything comes from the store through `studio.annotation_view`; Publish and Sync
only enqueue tasks for the annotation worker."""

from __future__ import annotations

from typing import Any

import gradio as gr
from pydantic import ValidationError

from recipes.annotation_spec import AnnotationSpec
from recipes.errors import problems_from_validation_error
from store.tables import UserRole
from studio import forms
from studio.annotation_view import NOT_CONFIGURED, AnnotationView, DatasetStatus, QueueUnavailable
from studio.auth import Access
from studio.ui_form import render

PROGRESS_COLUMNS = ["dataset", "annotator", "submitted", "draft", "discarded"]
AGREEMENT_COLUMNS = ["dataset", "criterion", "Krippendorff's α", "level", "pairable", "note"]


def build(access: Access, view: AnnotationView, visits: gr.State) -> None:
    """The tab's content, inside its render block, filled from the store now; re-read on every visit."""
    datasets = view.datasets()
    state = gr.Markdown(state_text(view), elem_id="annotation-state")
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### Rubric")
            tree = forms.form_tree(AnnotationSpec.model_json_schema())
            form = render(tree, forms.initial_values(tree), namespace="rubric-")
        with gr.Column(scale=2):
            target = _publish_box()
    shown, sync, refresh = _datasets_box(datasets)
    shown.insert(0, state)
    picked = shown[2]

    def reload(current: int | None = None) -> list[Any]:
        found = view.datasets()
        ids = [d.link_id for d in found]
        choice = gr.update(choices=dataset_choices(found), value=current if current in ids else _first(found))
        return [state_text(view), datasets_text(found), choice, *tables(found)]

    def do_publish(request: gr.Request, name: str, space: str, data: str, *args: Any) -> list[Any]:
        access.require(request, UserRole.ADMIN, "publishing an annotation dataset")
        spec, placed = check_rubric(tree, form.values(args))
        if spec is None:
            return [*form.error_updates(placed), "❌ fix the rubric fields marked ⚠ first", *[gr.skip()] * 5]
        name = (name or "").strip() or "recipe"
        text = _queued(view.publish, name, (space or "").strip() or "studio", (data or "").strip() or name,
                       spec.model_dump(mode="json"))  # fmt: skip
        return [*form.error_updates({}), text, *reload()]

    def do_sync(request: gr.Request, link_id: int | None) -> list[Any]:
        access.require(request, UserRole.AUTHOR, "syncing annotations")
        if link_id is None:
            raise gr.Error("publish a dataset first: there is nothing to sync")
        return [_queued(view.sync, int(link_id)), *reload(link_id)]

    message = target["message"]
    publish_outputs = [*form.errors.values(), message, *shown]
    target["publish"].click(do_publish, [*target["inputs"], *form.inputs], publish_outputs)
    sync.click(do_sync, picked, [message, *shown])
    refresh.click(reload, picked, shown)
    visits.change(reload, picked, shown, show_progress="hidden")


def _publish_box() -> dict[str, Any]:
    recipe = gr.Textbox(label="Recipe name", elem_id="annotation-recipe", interactive=True)
    workspace = gr.Textbox(label="Argilla workspace", value="studio", elem_id="annotation-workspace",
                           interactive=True)  # fmt: skip
    dataset = gr.Textbox(label="Dataset name", elem_id="annotation-dataset", interactive=True)
    publish = gr.Button("Publish", variant="primary", elem_id="annotation-publish")
    message = gr.Markdown("", elem_id="annotation-message")
    return {"inputs": [recipe, workspace, dataset], "publish": publish, "message": message}


def _datasets_box(datasets: list[DatasetStatus]) -> tuple[list[Any], gr.Button, gr.Button]:
    """([listing, picker, progress, agreement], sync button, refresh button), filled with `datasets`."""
    gr.Markdown("### Published datasets")
    listing = gr.Markdown(datasets_text(datasets), elem_id="annotation-datasets")
    with gr.Row():
        picked = gr.Dropdown(label="Dataset", choices=dataset_choices(datasets), value=_first(datasets),
                             elem_id="annotation-picked", interactive=True, scale=3)  # fmt: skip
        sync = gr.Button("Sync now", elem_id="annotation-sync", scale=1)
        refresh = gr.Button("Refresh", elem_id="annotation-refresh", scale=1)
    # Markdown tables: a handful of rows, and no Dataframe code to fetch when the tab first opens.
    progress_table, agreement_table = tables(datasets)
    progress = gr.Markdown(progress_table, elem_id="annotation-progress")
    agreement = gr.Markdown(agreement_table, elem_id="annotation-agreement")
    return [listing, picked, progress, agreement], sync, refresh


def _queued(action: Any, *args: Any) -> str:
    try:
        return action(*args)
    except QueueUnavailable as exc:
        raise gr.Error(str(exc)) from None
    except LookupError as exc:
        raise gr.Error(f"{exc}: refresh the list") from None


def check_rubric(tree: forms.Section, values: dict) -> tuple[AnnotationSpec | None, dict[str, list[str]]]:
    data, unreadable = forms.recipe_from_values(tree, values)
    placed = {key: [message] for key, message in unreadable.items()}
    try:
        spec = AnnotationSpec.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, root=AnnotationSpec)
        more, general = forms.place_problems(tree, values, [(p.path, p.message) for p in problems])
        for key, messages in more.items():
            placed.setdefault(key, []).extend(messages)
        if general:
            placed.setdefault(forms.widget_keys(tree)[0], []).extend(general)
        return None, placed
    return (None if unreadable else spec), placed


def state_text(view: AnnotationView) -> str:
    if not view.configured():
        return f"**{NOT_CONFIGURED}**"
    url = view.argilla_url()
    return f"Argilla: [{url}]({url}) — annotators work there; this tab shows their progress."


def dataset_choices(datasets: list[DatasetStatus]) -> list[tuple[str, int]]:
    return [(f"#{d.link_id} {d.dataset} ({d.status})", d.link_id) for d in datasets]


def _first(datasets: list[DatasetStatus]) -> int | None:
    return datasets[0].link_id if datasets else None


def datasets_text(datasets: list[DatasetStatus]) -> str:
    """One row per dataset with its link into Argilla, status, completion and last sync."""
    if not datasets:
        return "No dataset published yet: fill in the rubric and press Publish."
    lines = ["| dataset | recipe | status | completed / published | last sync |", "|---|---|---|---|---|"]
    for d in datasets:
        name = f"[{d.dataset}]({d.url})" if d.url else d.dataset
        status = d.status + (f": {_cell(d.reason)}" if d.reason else "")
        sync = (d.last_sync or "never") + (f" ⚠ {_cell(d.sync_error)}" if d.sync_error else "")
        lines.append(f"| {name} | {_cell(d.recipe)} | {status} | {d.completed} / {d.published} | {sync} |")
    return "\n".join(lines)


def _cell(text: str | None) -> str:
    return " ".join(str(text or "").split()).replace("|", "\\|")[:120]


def tables(datasets: list[DatasetStatus]) -> tuple[str, str]:
    """(progress per annotator, agreement per criterion) as Markdown tables."""
    progress = [[d.dataset, who, c.get("submitted", 0), c.get("draft", 0), c.get("discarded", 0)]
                for d in datasets for who, c in sorted(d.progress.items())]  # fmt: skip
    agreement = [[d.dataset, name, _alpha(a.get("alpha")), a.get("level") or "", a.get("n_pairable"),
                  a.get("alpha_reason") or ""]
                 for d in datasets for name, a in d.agreement.items()]  # fmt: skip
    return (_table("Progress per annotator", PROGRESS_COLUMNS, progress, "no responses synced yet"),
            _table("Agreement per criterion", AGREEMENT_COLUMNS, agreement, "not computed yet"))  # fmt: skip


def _table(title: str, columns: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f"**{title}**: {empty}."
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_cell("" if v is None else str(v)) for v in row) + " |" for row in rows]
    return f"**{title}**\n\n" + "\n".join(lines)


def _alpha(value: Any) -> str:
    return "-" if value is None else f"{float(value):.3f}"
