"""Recipes tab: the form generated from the recipe schema, a data upload with preview, and a YAML view
that round-trips both ways. Every problem is shown under its field as soon as a value changes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import gradio as gr
import yaml
from pydantic import TypeAdapter, ValidationError

from recipes.data_source import DataSource
from recipes.errors import RecipeError
from recipes.io import dump_recipe, recipe_from_dict, recipe_json_schema
from recipes.recipe import Recipe
from recipes.row_mapper import records_from_row
from store.tables import UserRole
from studio import forms, ui_files
from studio.auth import Access
from studio.cli_wait import submit
from studio.forms import PICKER
from studio.ui_form import RenderedForm, render

# A new form starts from a local file with DPO picked; everything else comes from the schema.
STARTER = {"data": {"kind": "file"}, "method": {"method": "dpo"}}
DATA_PATH_KEYS = ("path", "heldout_path")


def build(access: Access) -> dict[str, Any]:
    tree = forms.form_tree(recipe_json_schema())
    start = forms.values_from_recipe(tree, STARTER)
    upload_parts: dict[str, Any] = {}
    with gr.Row():
        with gr.Column(scale=3):
            form = render(tree, start, before={"data": lambda: upload_parts.update(_upload_box())})
        with gr.Column(scale=2):
            side = _side_panel(_yaml_of(forms.recipe_from_values(tree, start)[0], None))
    apply = _wire(access, form, upload_parts, side)
    return {"form": form, "load_yaml": apply, **side}


def _upload_box() -> dict[str, Any]:
    with gr.Accordion("Data file", open=True, elem_id="section-upload"):
        upload = gr.File(label="Upload a data file (JSONL, JSON, CSV, Parquet)", elem_id="data-upload",
                         file_types=[".jsonl", ".json", ".csv", ".parquet"], type="filepath")  # fmt: skip
        preview = gr.Dataframe(label="First rows", interactive=False, elem_id="data-preview", wrap=True)
        mapped = gr.Markdown("", elem_id="data-mapped")
    return {"upload": upload, "preview": preview, "mapped": mapped}


def _side_panel(initial_yaml: str) -> dict[str, Any]:
    general = gr.Markdown("", elem_id="recipe-problems")
    with gr.Row():
        run_button = gr.Button("Start run", variant="primary", elem_id="start-run")
        export_button = gr.Button("Export YAML", elem_id="export-yaml")
        import_button = gr.UploadButton("Import YAML", file_types=[".yaml", ".yml"], elem_id="import-yaml")
    run_status = gr.Markdown("", elem_id="run-status")
    exported = gr.File(label="Exported recipe", visible=False, elem_id="exported-yaml")
    code = gr.Code(initial_yaml, label="Recipe YAML (edit, then click outside or press Apply)",
                   language="yaml", interactive=True, elem_id="recipe-yaml", lines=24)  # fmt: skip
    apply = gr.Button("Apply YAML to the form", elem_id="apply-yaml")
    return {"general": general, "run": run_button, "export": export_button, "import": import_button,
            "run_status": run_status, "exported": exported, "code": code, "apply": apply}  # fmt: skip


# ---- validation -------------------------------------------------------------------------------


def check(form: RenderedForm, values: dict[str, Any]) -> tuple[dict, Recipe | None, dict, list[str]]:
    """(recipe dict, the Recipe or None, {widget key: messages}, general messages)."""
    data, unreadable = forms.recipe_from_values(form.tree, values)
    placed = {key: [message] for key, message in unreadable.items()}
    try:
        recipe = recipe_from_dict(data)
    except RecipeError as exc:
        more, general = forms.place_problems(form.tree, values, [(p.path, p.message) for p in exc.problems])
        for key, messages in more.items():
            placed.setdefault(key, []).extend(messages)
        return data, None, placed, general
    return data, (None if unreadable else recipe), placed, []


def _yaml_of(data: dict, recipe: Recipe | None) -> str:
    if recipe is not None:
        return dump_recipe(recipe)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


def _general_text(placed: dict, general: list[str]) -> str:
    if not placed and not general:
        return "✅ The recipe is valid."
    lines = [f"❌ {len(placed) + len(general)} problem(s) — each is shown under its field."]
    return "\n".join(lines + [f"- {message}" for message in general])


def _mapped_preview(data: dict, rows: list[dict]) -> str:
    """How the first rows read with the current data settings: prompt / chosen / rejected or why not."""
    try:
        source = TypeAdapter(DataSource).validate_python(data.get("data") or {})
    except ValidationError:
        return ""
    if getattr(source, "kind", None) not in ("file", "hub"):
        return ""
    lines = ["| # | prompt | chosen | rejected |", "|---|---|---|---|"]
    for index, row in enumerate(rows):
        result = records_from_row(row, source)
        if not isinstance(result, list):
            lines.append(f"| {index + 1} | skipped: {result.reason} ({result.detail}) | | |")
            continue
        record = result[0]
        order = list(record.pair) if record.pair else range(len(record.responses))
        texts = [record.responses[i] for i in order]
        shown = [_short(record.prompt), *(_short(t) for t in texts[:2])]
        lines.append(f"| {index + 1} | " + " | ".join(shown + [""] * (3 - len(shown))) + " |")
    return "**Rows as the recipe reads them**\n\n" + "\n".join(lines)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- wiring -------------------------------------------------------------------------------------


def _wire(access: Access, form: RenderedForm, upload: dict, side: dict) -> dict[str, Any]:
    """Connect the events; return how to load YAML into the form (the Runs tab's re-run uses it)."""
    groups = list(form.groups.values())
    errors = list(form.errors.values())

    def refresh(*args: Any):
        values = form.values(args)
        data, recipe, placed, general = check(form, values)
        return [*form.group_updates(values), *form.error_updates(placed), _general_text(placed, general),
                _yaml_of(data, recipe)]  # fmt: skip

    refresh_outputs = [*groups, *errors, side["general"], side["code"]]
    # One listener for all widgets (not one each): the page config stays small and loads fast.
    gr.on([widget.input for widget in form.inputs], refresh, form.inputs, refresh_outputs,
          show_progress="hidden", trigger_mode="always_last")  # fmt: skip

    def apply_yaml(text: str, *args: Any):
        try:
            data = yaml.safe_load(text or "") or {}
        except yaml.YAMLError as exc:
            raise gr.Error(f"the YAML does not parse: {exc}") from None
        if not isinstance(data, dict):
            raise gr.Error("the YAML must be a mapping (name: ..., data: ..., method: ...)")
        values = forms.values_from_recipe(form.tree, data)
        _, recipe, placed, general = check(form, values)
        return [*form.widget_updates(values), *form.group_updates(values), *form.error_updates(placed),
                _general_text(placed, general)]  # fmt: skip

    apply_outputs = [*form.inputs, *groups, *errors, side["general"]]
    side["apply"].click(apply_yaml, [side["code"], *form.inputs], apply_outputs)
    side["code"].blur(apply_yaml, [side["code"], *form.inputs], apply_outputs)
    side["import"].upload(_read_yaml_file, side["import"], side["code"]).then(
        apply_yaml, [side["code"], *form.inputs], apply_outputs
    )
    side["export"].click(lambda *a: _export(form, a), form.inputs, side["exported"])
    _wire_upload(form, upload).then(refresh, form.inputs, refresh_outputs)

    def start_run(request: gr.Request, *args: Any) -> str:  # request first: Gradio injects it there
        return start_run_from_values(access, form, form.values(args), request)

    side["run"].click(start_run, form.inputs, side["run_status"])
    return {"fn": apply_yaml, "inputs": [side["code"], *form.inputs], "outputs": apply_outputs}


def _wire_upload(form: RenderedForm, upload: dict):
    path_key = _file_path_key(form)
    picker_key = "data" + PICKER
    outputs = [form.widgets[path_key], form.widgets[picker_key], upload["preview"], upload["mapped"],
               *(form.widgets[key] for key in form.columns)]  # fmt: skip

    def on_upload(temp_path: str | None):
        if not temp_path:
            return [gr.update()] * len(outputs)
        saved = ui_files.save_upload(temp_path)
        try:
            rows = ui_files.preview_rows(saved)
            note = f"{len(ui_files.columns_of(rows))} columns: " + ", ".join(ui_files.columns_of(rows))
        except (ValueError, OSError) as exc:
            rows, note = [], str(exc)
        columns = ui_files.columns_of(rows)
        table = [[_short(row.get(c, ""), 80) for c in columns] for row in rows]
        frame = gr.update(value={"headers": columns, "data": table} if columns else None)
        return [gr.update(value=str(saved)), gr.update(value="file"), frame, note,
                *(gr.update(choices=columns) for _ in form.columns)]  # fmt: skip

    return upload["upload"].upload(on_upload, upload["upload"], outputs)


def _file_path_key(form: RenderedForm) -> str:
    for node in forms.walk(form.tree):
        if isinstance(node, forms.Field) and node.path == "data.path" and ".file." in f".{node.key}.":
            return node.key
    raise RuntimeError("the recipe schema has no file data source with a path")


def _read_yaml_file(path: str | None) -> str:
    if not path:
        return gr.update()
    return Path(path).read_text(encoding="utf-8", errors="replace")


def _export(form: RenderedForm, args: tuple) -> Any:
    data, recipe, _, _ = check(form, form.values(args))
    name = (recipe.name if recipe else str(data.get("name") or "recipe")) + ".yaml"
    path = Path(tempfile.mkdtemp(prefix="studio-export-")) / name
    path.write_text(_yaml_of(data, recipe), encoding="utf-8")
    return gr.update(value=str(path), visible=True)


def start_run_from_values(access: Access, form: RenderedForm, values: dict, request: Any) -> str:
    access.require(request, UserRole.AUTHOR, "starting a run")
    data, recipe, placed, general = check(form, values)
    if recipe is None:
        raise gr.Error(f"the recipe has {len(placed) + len(general)} problem(s): fix the fields marked ⚠")
    check_data_paths(recipe)
    run = submit(recipe)
    return f"Queued run **{run.id}** ({recipe.name}); follow it in the Runs tab."


def check_data_paths(recipe: Recipe) -> None:
    """A recipe started from the studio may only read files inside the data root (uploads)."""
    source = recipe.data
    for key in DATA_PATH_KEYS:
        value = getattr(source, key, None)
        if getattr(source, "kind", None) == "file" and value:
            try:
                ui_files.inside_data_root(value)
            except ui_files.UnsafePath as exc:
                raise gr.Error(f"data.{key}: {exc}") from None
