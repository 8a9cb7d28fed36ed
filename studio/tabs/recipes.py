"""Recipes tab: the form generated from the recipe schema, a data upload with preview, and a YAML view
that round-trips both ways. Every problem is shown on its field as soon as a value changes."""

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
from studio import forms, ui_files, ui_saved
from studio.auth import Access
from studio.cli_wait import submit
from studio.forms import PICKER
from studio.ui_live_form import SYNC, LiveForm

# A new form starts from a local file with DPO picked; everything else comes from the schema.
STARTER = {"data": {"kind": "file"}, "method": {"method": "dpo"}}
DATA_PATH_KEYS = ("path", "heldout_path")
# The first view shows what a person decides first: the name, the data and the method with its
# hyperparameters (the unions are always open). Every section (model and LoRA, field mapping, training,
# evaluation, ...) and the data settings below start folded: Gradio draws no widget of a closed section,
# and each drawn widget adds to the first page load. A folded section opens by itself when a field in it
# has a problem, or when it is switched on (a field mapping loaded from YAML).
OPEN_SECTIONS: frozenset[str] = frozenset()
MORE_DATA_FIELDS = frozenset({"data.format", "data.heldout_path", "data.heldout_split", "data.limit"})


def build(access: Access) -> dict[str, Any]:
    tree = forms.form_tree(recipe_json_schema())
    start = forms.values_from_recipe(tree, STARTER)
    upload_parts: dict[str, Any] = {}
    with gr.Row():
        with gr.Column(scale=3):
            live = LiveForm(tree, start, before={"data": lambda: upload_parts.update(_upload_box())},
                            open_paths=OPEN_SECTIONS, more=MORE_DATA_FIELDS)  # fmt: skip
        with gr.Column(scale=2):
            side = _side_panel(_yaml_of(forms.recipe_from_values(tree, start)[0], None))
    apply = _wire(access, live, upload_parts, side)
    return {"form": live, "load_yaml": apply, **side}


def _upload_box() -> dict[str, Any]:
    # A button and Markdown tables, not a File drop zone and a Dataframe: the Recipes tab is the first
    # page, and every component kind on it is one more download before it shows. No box around them:
    # each drawn box or widget adds to the first page load.
    upload = gr.UploadButton(
        "Upload a data file (JSONL, JSON, CSV, Parquet)", elem_id="data-upload", type="filepath",
        file_types=[".jsonl", ".json", ".csv", ".parquet"],
    )  # fmt: skip
    # Hidden until a file is uploaded: an empty Markdown is still a drawn widget.
    preview = gr.Markdown("", elem_id="data-preview", visible=False)
    mapped = gr.Markdown("", elem_id="data-mapped", visible=False)
    return {"upload": upload, "preview": preview, "mapped": mapped}


def _side_panel(initial_yaml: str) -> dict[str, Any]:
    # The two message lines are hidden until they have something to say (see _upload_box).
    general = gr.Markdown("", elem_id="recipe-problems", visible=False)
    with gr.Row():
        run_button = gr.Button("Start run", variant="primary", elem_id="start-run")
        export_button = gr.Button("Export YAML", elem_id="export-yaml")
        import_button = gr.UploadButton("Import YAML", file_types=[".yaml", ".yml"], elem_id="import-yaml")
    run_status = gr.Markdown("", elem_id="run-status", visible=False)
    with gr.Row():
        saved = gr.Dropdown(label="Saved recipes", choices=[], elem_id="saved-recipes", scale=3,
                            interactive=True)  # fmt: skip
        load_saved = gr.Button("Load", elem_id="load-saved", scale=1)
        save = gr.Button("Save recipe", elem_id="save-recipe", scale=1)
    exported = gr.File(label="Exported recipe", visible=False, elem_id="exported-yaml")
    # A plain text box, not gr.Code: the code editor (CodeMirror) is ~400 kB of JavaScript to fetch,
    # compile and start before the first page is usable, for syntax colours (see app.CSS: monospace).
    code = gr.Textbox(initial_yaml, label="Recipe YAML (edit, then click outside or press Apply)",
                      interactive=True, elem_id="recipe-yaml", lines=28, max_lines=28)  # fmt: skip
    apply = gr.Button("Apply YAML to the form", elem_id="apply-yaml")
    return {"general": general, "run": run_button, "export": export_button, "import": import_button,
            "run_status": run_status, "exported": exported, "code": code, "apply": apply, "saved": saved,
            "load_saved": load_saved, "save": save}  # fmt: skip


# ---- validation -------------------------------------------------------------------------------


def check(tree: forms.Section, values: dict[str, Any]) -> tuple[dict, Recipe | None, dict, list[str]]:
    """(recipe dict, the Recipe or None, {widget key: messages}, general messages)."""
    data, unreadable = forms.recipe_from_values(tree, values)
    placed = {key: [message] for key, message in unreadable.items()}
    try:
        recipe = recipe_from_dict(data)
    except RecipeError as exc:
        more, general = forms.place_problems(tree, values, [(p.path, p.message) for p in exc.problems])
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
    lines = [f"❌ {len(placed) + len(general)} problem(s) — each is shown in red on its field."]
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


def _rows_table(columns: list[str], rows: list[dict]) -> str:
    """The first rows of the uploaded file as a Markdown table (cells shortened)."""
    if not columns:
        return ""
    lines = ["| " + " | ".join(_short(c, 40) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_short(row.get(c, ""), 80) for c in columns) + " |" for row in rows]
    return "**First rows**\n\n" + "\n".join(lines)


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- wiring -------------------------------------------------------------------------------------


def _wire(access: Access, live: LiveForm, upload: dict, side: dict) -> dict[str, Any]:
    """Connect the events; return how to load YAML into the form (the Runs tab's re-run uses it)."""
    tree = live.tree

    def check_values(values: dict[str, Any]) -> tuple[dict, list[Any]]:
        data, recipe, placed, general = check(tree, values)
        return placed, [_shown(_general_text(placed, general)), _yaml_of(data, recipe)]

    live.wire(check_values, [side["general"], side["code"]])

    def apply_yaml(text: str, *state: Any) -> list[Any]:
        try:
            data = yaml.safe_load(text or "") or {}
        except yaml.YAMLError as exc:
            raise gr.Error(f"the YAML does not parse: {exc}") from None
        if not isinstance(data, dict):
            raise gr.Error("the YAML must be a mapping (name: ..., data: ..., method: ...)")
        return live.load(state, forms.values_from_recipe(tree, data))

    apply_inputs = [side["code"], *live.state_inputs]
    apply_outputs = live.load_outputs()
    side["apply"].click(apply_yaml, apply_inputs, apply_outputs, **SYNC)
    side["code"].blur(apply_yaml, apply_inputs, apply_outputs, **SYNC)
    side["import"].upload(_read_yaml_file, side["import"], side["code"]).then(
        apply_yaml, apply_inputs, apply_outputs, **SYNC
    )
    side["export"].click(lambda values: _export(tree, values), live.values, side["exported"])
    _wire_upload(live, upload)

    def start_run(request: gr.Request, values: dict) -> str:  # request first: Gradio injects it there
        return _shown(start_run_from_values(access, tree, values, request))

    side["run"].click(start_run, live.values, side["run_status"])
    _wire_saved(access, tree, live, side).then(apply_yaml, apply_inputs, apply_outputs, **SYNC)
    return {"fn": apply_yaml, "inputs": apply_inputs, "outputs": apply_outputs}


def _wire_saved(access: Access, tree: forms.Section, live: LiveForm, side: dict):
    """Save the form's recipe in the DB; load a saved one (its YAML, then the form: returned `.then`)."""

    def save(request: gr.Request, values: dict) -> list[Any]:
        access.require(request, UserRole.AUTHOR, "saving a recipe")
        _, recipe, placed, general = check(tree, values)
        if recipe is None:
            raise gr.Error(f"the recipe has {len(placed) + len(general)} problem(s): fix the fields marked ⚠")
        row, created = ui_saved.save(recipe)
        note = f"{'Saved' if created else 'Updated'} **{row.name}** (schema v{row.schema_version})."
        return [_shown(note), gr.update(choices=ui_saved.names(), value=row.name)]

    def load(name: str | None) -> str:
        if not name:
            raise gr.Error("pick a saved recipe first")
        try:
            return ui_saved.load(name)
        except LookupError as exc:
            raise gr.Error(str(exc)) from None

    side["save"].click(save, live.values, [side["run_status"], side["saved"]])
    # Read the list when it is opened, not with the page (no DB query on the first load).
    side["saved"].focus(_saved_names, None, side["saved"], show_progress="hidden")
    return side["load_saved"].click(load, side["saved"], side["code"])


def _wire_upload(live: LiveForm, upload: dict) -> None:
    path_key = _file_path_key(live.tree)
    outputs = [upload["preview"], upload["mapped"], live.columns, *live.load_outputs()]

    def on_upload(temp_path: str | None, *state: Any) -> list[Any]:
        if not temp_path:
            return [gr.skip()] * len(outputs)
        saved = ui_files.save_upload(temp_path)
        try:
            rows = ui_files.preview_rows(saved)
            columns = ui_files.columns_of(rows)
            note = f"{len(columns)} columns: " + ", ".join(columns)
        except (ValueError, OSError) as exc:
            rows, columns, note = [], [], str(exc)
        values = {**state[0], path_key: str(saved), "data" + PICKER: "file"}
        mapped = note + "\n\n" + _mapped_preview(forms.recipe_from_values(live.tree, values)[0], rows)
        # Redraw the data source even if nothing else changed: its column pickers offer the new columns.
        shown = [_shown(text) for text in (_rows_table(columns, rows), mapped)]
        return [*shown, columns, *live.load(state, values, redraw={"data"})]

    upload["upload"].upload(on_upload, [upload["upload"], *live.state_inputs], outputs, **SYNC)


def _shown(text: str) -> Any:
    """An update that also shows its line: the message and preview lines are hidden until first used."""
    return gr.update(value=text, visible=True)


def _saved_names() -> Any:
    return gr.update(choices=ui_saved.names())


def _file_path_key(tree: forms.Section) -> str:
    for node in forms.walk(tree):
        if isinstance(node, forms.Field) and node.path == "data.path" and ".file." in f".{node.key}.":
            return node.key
    raise RuntimeError("the recipe schema has no file data source with a path")


def _read_yaml_file(path: str | None) -> str:
    if not path:
        return gr.update()
    return Path(path).read_text(encoding="utf-8", errors="replace")


def _export(tree: forms.Section, values: dict) -> Any:
    data, recipe, _, _ = check(tree, values)
    name = (recipe.name if recipe else str(data.get("name") or "recipe")) + ".yaml"
    path = Path(tempfile.mkdtemp(prefix="studio-export-")) / name
    path.write_text(_yaml_of(data, recipe), encoding="utf-8")
    return gr.update(value=str(path), visible=True)


def start_run_from_values(access: Access, tree: forms.Section, values: dict, request: Any) -> str:
    access.require(request, UserRole.AUTHOR, "starting a run")
    data, recipe, placed, general = check(tree, values)
    if recipe is None:
        raise gr.Error(f"the recipe has {len(placed) + len(general)} problem(s): fix the fields marked ⚠")
    check_data_paths(recipe)
    try:
        run = submit(recipe)
    except Exception as exc:  # the broker did not take it; submit() already marked the run failed
        raise gr.Error(f"could not queue the run ({type(exc).__name__}): is `studio up` running?") from None
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
