"""Annotation tab: the rubric editor (generated from the AnnotationSpec schema like the recipe form),
Publish, progress per annotator, agreement per criterion and a link into the Argilla UI. Everything it
shows comes through `studio.annotation_view` (the Argilla side is built separately)."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pandas as pd
from pydantic import ValidationError

from recipes.annotation_spec import AnnotationSpec
from recipes.errors import problems_from_validation_error
from store.tables import UserRole
from studio import forms
from studio.annotation_view import NOT_CONFIGURED, AnnotationView
from studio.auth import Access
from studio.ui_form import render

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]*$"


def build(access: Access, view: AnnotationView) -> dict[str, Any]:
    state = gr.Markdown(_state_text(view), elem_id="annotation-state")
    with gr.Row():
        with gr.Column(scale=3):
            gr.Markdown("### Rubric")
            tree = forms.form_tree(AnnotationSpec.model_json_schema())
            form = render(tree, forms.initial_values(tree), namespace="rubric-")
        with gr.Column(scale=2):
            recipe = gr.Textbox(label="Recipe name", elem_id="annotation-recipe")
            workspace = gr.Textbox(label="Argilla workspace", value="studio", elem_id="annotation-workspace")
            dataset = gr.Textbox(label="Dataset name", elem_id="annotation-dataset")
            publish = gr.Button("Publish", variant="primary", elem_id="annotation-publish")
            message = gr.Markdown("", elem_id="annotation-message")
            refresh = gr.Button("Refresh progress", elem_id="annotation-refresh")
    progress = gr.Dataframe(
        headers=["dataset", "annotator", "submitted", "draft", "discarded"],
        interactive=False,
        label="Progress per annotator",
        elem_id="annotation-progress",
    )
    agreement = gr.Dataframe(
        headers=["dataset", "criterion", "Krippendorff's α", "pairable"],
        interactive=False,
        label="Agreement per criterion",
        elem_id="annotation-agreement",
    )
    errors = list(form.errors.values())

    def do_publish(request: gr.Request, name: str, space: str, data: str, *args: Any) -> list[Any]:
        access.require(request, UserRole.ADMIN, "publishing an annotation dataset")
        values = form.values(args)
        spec, placed = _check(tree, values)
        if spec is None:
            return [*form.error_updates(placed), "❌ fix the rubric fields marked ⚠ first"]
        if not view.configured():
            return [*form.error_updates({}), NOT_CONFIGURED]
        name = name.strip() or "recipe"
        text = view.publish(
            name, space.strip() or "studio", data.strip() or name, spec.model_dump(mode="json")
        )
        return [*form.error_updates({}), text]

    publish.click(do_publish, [recipe, workspace, dataset, *form.inputs], [*errors, message])
    refresh.click(lambda: [_state_text(view), *_tables(view)], None, [state, progress, agreement])
    return {
        "load_fn": lambda: [_state_text(view), *_tables(view)],
        "load_outputs": [state, progress, agreement],
    }


def _check(tree: forms.Section, values: dict) -> tuple[AnnotationSpec | None, dict[str, list[str]]]:
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


def _state_text(view: AnnotationView) -> str:
    if not view.configured():
        return f"**{NOT_CONFIGURED}**"
    url = view.argilla_url()
    return f"Argilla: [{url}]({url}) — annotators work there; this tab shows their progress."


def _tables(view: AnnotationView) -> list[pd.DataFrame | None]:
    datasets = view.datasets()
    progress = [[d.dataset, who, c.get("submitted", 0), c.get("draft", 0), c.get("discarded", 0)]
                for d in datasets for who, c in d.progress.items()]  # fmt: skip
    agreement = [[d.dataset, name, a.get("alpha"), a.get("n_pairable")]
                 for d in datasets for name, a in d.agreement.items()]  # fmt: skip
    return [
        pd.DataFrame(progress, columns=["dataset", "annotator", "submitted", "draft", "discarded"]),
        pd.DataFrame(agreement, columns=["dataset", "criterion", "Krippendorff's α", "pairable"]),
    ]
