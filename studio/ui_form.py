"""Renders a `studio.forms` tree as Gradio widgets; a widget's problems replace its help line (in red).

Widget kinds map one to one: number/integer → Number (bounds in the help text, not as clamps, so a
wrong value is shown as a problem next to the field instead of being silently corrected), choice →
Dropdown, flag → Checkbox, choices → CheckboxGroup, text/list → Textbox, column → Dropdown offering
the uploaded file's columns, yaml → a one-line inline-YAML Textbox. Unions get a Radio picker that
shows only the picked member's widgets; optional sections get an on/off Checkbox.

With `on_choice`, a union is not rendered here at all: the caller draws its picker and renders only the
picked member on demand (`studio.ui_live_form`), so the page does not carry every method's widgets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import gradio as gr

from studio import forms
from studio.forms import PICKER, TOGGLE, Choice, Field, Section

INVALID = "field-invalid"  # the CSS class of a widget with a problem


def elem_id(key: str, prefix: str = "field") -> str:
    """A stable DOM id for a widget key (the browser tests find fields by it)."""
    return f"{prefix}-" + re.sub(r"[^A-Za-z0-9_-]+", "-", key or "root")


@dataclass
class RenderedForm:
    tree: Section
    widgets: dict[str, Any] = field(default_factory=dict)  # key → input component
    # key → the component that shows its problems: the widget itself, in its info line. Not a Markdown
    # line per widget: that doubled the page's components (and a Form each), which slowed its first load.
    errors: dict[str, Any] = field(default_factory=dict)
    helps: dict[str, str | None] = field(default_factory=dict)  # key → its help text (the info line)
    groups: dict[str, Any] = field(default_factory=dict)  # variant / optional section key → container
    columns: list[str] = field(default_factory=list)  # keys of column widgets
    namespace: str = ""  # DOM id prefix, so two forms on one page do not share ids
    problems: dict[str, list[str]] = field(default_factory=dict)  # shown under their widgets when built
    column_choices: list[str] = field(default_factory=list)  # offered by column widgets when built
    on_choice: Callable[[RenderedForm, Choice, dict], None] | None = None  # draws unions instead of us
    # Sections that start open; None: the top two levels. Gradio does not draw a closed section's widgets
    # until it is opened, and each drawn widget costs the first page load 1-5 ms of browser CPU.
    open_paths: frozenset[str] | None = None
    # Paths of fields drawn in a closed "More ... options" box at the end of their section: settings whose
    # defaults most people keep, off the first view.
    more: frozenset[str] = frozenset()
    sections: dict[str, Any] = field(default_factory=dict)  # section key → its Accordion
    contents: dict[str, list[str]] = field(default_factory=dict)  # section key → the widget keys inside

    def id(self, key: str, kind: str = "field") -> str:
        return elem_id(key, f"{self.namespace}{kind}")

    @property
    def keys(self) -> list[str]:
        return list(self.widgets)

    @property
    def inputs(self) -> list[Any]:
        return list(self.widgets.values())

    def values(self, args: tuple | list) -> dict[str, Any]:
        return dict(zip(self.keys, args, strict=True))

    def group_updates(self, values: dict[str, Any]) -> list[Any]:
        return [gr.update(visible=visible) for visible in self._group_visibility(values).values()]

    def error_updates(
        self, placed: dict[str, list[str]], shown: dict | None = None, values: dict | None = None
    ) -> list[Any]:
        """One update per widget: its problems (or its help again). With `shown` (what the widgets show
        now), unchanged ones are skipped; with `values`, every widget also gets its value."""
        updates = []
        for key in self.errors:
            messages = placed.get(key)
            if values is None and shown is not None and shown.get(key) == messages:
                updates.append(gr.skip())
                continue
            props = error_props(self.helps.get(key), messages)
            updates.append(gr.update(**props, **({"value": values.get(key)} if values is not None else {})))
        return updates

    def section_updates(self, placed: dict[str, list[str]]) -> list[Any]:
        """Open every section that holds a problem, so no problem hides in a folded section."""
        opened = gr.update(open=True)
        return [opened if self.holds_problem(key, placed) else gr.skip() for key in self.sections]

    def holds_problem(self, section_key: str, placed: dict[str, list[str]]) -> bool:
        """Whether a widget inside the section has a problem (its own widgets, or a union member's drawn
        later, whose keys start with the section's)."""
        inside = {*self.contents.get(section_key, ()), section_key + TOGGLE}
        return any(k in inside or k.startswith(section_key + ".") for k in placed)

    def _group_visibility(self, values: dict[str, Any]) -> dict[str, bool]:
        visible = {}
        for node in forms.walk(self.tree):
            if isinstance(node, Choice):
                picked = values.get(node.key + PICKER) or node.default
                for tag, variant in node.variants.items():
                    visible[variant.key] = tag == picked
            elif isinstance(node, Section) and node.optional:
                visible[node.key] = bool(values.get(node.key + TOGGLE))
        return {key: visible.get(key, True) for key in self.groups}


def render(
    tree: Section,
    values: dict[str, Any],
    before: dict[str, Callable[[], None]] | None = None,
    namespace: str = "",
    on_choice: Callable[[RenderedForm, Choice, dict], None] | None = None,
    open_paths: frozenset[str] | None = None,
    more: frozenset[str] = frozenset(),
) -> RenderedForm:
    """Build the widgets inside the current Blocks context; `before[path]()` runs just before that
    node is rendered (the recipes tab puts the upload box above the data source)."""
    form = RenderedForm(tree, namespace=namespace, on_choice=on_choice, open_paths=open_paths, more=more)
    _render_children(form, tree, values, before or {})
    return form


def _render_node(form: RenderedForm, node: Any, values: dict, before: dict) -> None:
    if node.path in before and not isinstance(node, Field):
        before[node.path]()
    if isinstance(node, Field):
        _render_field(form, node, values.get(node.key))
    elif isinstance(node, Choice) and form.on_choice is not None:
        form.on_choice(form, node, values)
    elif isinstance(node, Choice):
        _render_choice(form, node, values, before)
    elif isinstance(node, Section):
        _render_section(form, node, values, before)


def _render_section(form: RenderedForm, section: Section, values: dict, before: dict) -> None:
    depth_rule = section.path.count(".") <= 1  # deeper sections start folded
    opened = depth_rule if form.open_paths is None else section.path in form.open_paths
    # A section the user switched on (e.g. a field mapping loaded from YAML), or one holding a problem,
    # is shown open when it is drawn.
    opened = opened or bool(section.optional and values.get(section.key + TOGGLE))
    opened = opened or form.holds_problem(section.key, form.problems)
    with _box(form, section.key, section.label, opened):
        if section.help:
            gr.Markdown(section.help, elem_classes=["section-help"])
        if section.optional:
            _render_toggle(form, section, values)
            with gr.Group(visible=bool(values.get(section.key + TOGGLE))) as group:
                _render_children(form, section, values, before)
            form.groups[section.key] = group
        else:
            _render_children(form, section, values, before)


def _render_toggle(form: RenderedForm, section: Section, values: dict) -> None:
    key = section.key + TOGGLE
    form.widgets[key] = gr.Checkbox(
        value=bool(values.get(key)), label=f"Set {section.label.lower()}", elem_id=form.id(key),
        interactive=True, **_shows_problems(form, key, None),
    )  # fmt: skip
    form.errors[key] = form.widgets[key]


@contextmanager
def _box(form: RenderedForm, key: str, label: str, opened: bool) -> Iterator[None]:
    """An Accordion registered as section `key`, remembering the widgets drawn inside it."""
    drawn_before = len(form.widgets)
    with gr.Accordion(label, open=opened, elem_id=form.id(key, "section")) as box:
        form.sections[key] = box
        yield
    form.contents[key] = list(form.widgets)[drawn_before:]


def _render_children(form: RenderedForm, section: Section, values: dict, before: dict) -> None:
    folded = [c for c in section.children if isinstance(c, Field) and c.path in form.more]
    for child in section.children:
        if child not in folded:
            _render_node(form, child, values, before)
    if folded:
        key = section.key + ".more"
        opened = any(child.key in form.problems for child in folded)
        with _box(form, key, f"More {section.path.rsplit('.', 1)[-1].replace('_', ' ')} options", opened):
            for child in folded:
                _render_field(form, child, values.get(child.key))


def render_picker(form: RenderedForm, choice: Choice, values: dict) -> str:
    """The union's Radio picker and its error line; returns the picked member's tag."""
    key = choice.key + PICKER
    picked = values.get(key) or choice.default
    form.widgets[key] = gr.Radio(
        choices=list(choice.variants), value=picked, label=f"{choice.label}: {choice.tag}",
        elem_id=form.id(key), interactive=True, **_shows_problems(form, key, choice.help),
    )  # fmt: skip
    form.errors[key] = form.widgets[key]
    return picked


def render_variant(form: RenderedForm, variant: Section, values: dict, before: dict, visible: bool = True):
    """One union member's widgets in a Group (its help text first); returns the Group."""
    with gr.Group(visible=visible, elem_id=form.id(variant.key, "variant")) as group:
        if variant.help:
            gr.Markdown(f"**{variant.name}** — {variant.help}", elem_classes=["section-help"])
        _render_children(form, variant, values, before)
    form.groups[variant.key] = group
    return group


def _render_choice(form: RenderedForm, choice: Choice, values: dict, before: dict) -> None:
    with gr.Accordion(choice.label, open=True, elem_id=form.id(choice.key, "section")):
        picked = render_picker(form, choice, values)
        for tag, variant in choice.variants.items():
            render_variant(form, variant, values, before, visible=tag == picked)


def _render_field(form: RenderedForm, node: Field, value: Any) -> None:
    label = node.label + (" *" if node.required else "")
    # interactive: a widget drawn later by gr.render is otherwise shown read-only.
    common = {"label": label, "elem_id": form.id(node.key), "interactive": True,
              **_shows_problems(form, node.key, node.help)}  # fmt: skip
    form.widgets[node.key] = _widget(node, value, common, form.column_choices)
    if node.column:
        form.columns.append(node.key)
    form.errors[node.key] = form.widgets[node.key]


def _shows_problems(form: RenderedForm, key: str, help_text: str | None) -> dict[str, Any]:
    """The widget's info line and classes for the problems the form is built with."""
    form.helps[key] = help_text or None
    return error_props(help_text, form.problems.get(key))


def error_props(help_text: str | None, messages: list[str] | None) -> dict[str, Any]:
    """`info` and `elem_classes` of a widget: its problems (red, see app.CSS; the messages carry their
    own hint), else its help."""
    if not messages:
        return {"info": help_text or None, "elem_classes": []}
    return {"info": "⚠ " + "; ".join(messages), "elem_classes": [INVALID]}


def _widget(node: Field, value: Any, common: dict[str, Any], columns: list[str]) -> Any:
    if node.kind in ("number", "integer") and node.nullable:
        # A Number widget cannot be empty (it sends 0): an optional number is a text box, empty = unset.
        shown = "" if value is None else str(value)
        return gr.Textbox(value=shown, lines=1, max_lines=1, placeholder="empty = not set", **common)
    if node.kind in ("number", "integer"):
        return gr.Number(value=value, precision=0 if node.kind == "integer" else None, **common)
    if node.kind == "choice":
        choices = list(node.choices) + ([""] if node.nullable else [])
        return gr.Dropdown(choices=choices, value=value if value is not None else "", **common)
    if node.kind == "flag":
        return gr.Checkbox(value=bool(value), **common)
    if node.kind == "choices":
        return gr.CheckboxGroup(choices=list(node.choices), value=value or [], **common)
    if node.column:
        return gr.Dropdown(choices=list(columns), value=value or None, allow_custom_value=True, **common)
    placeholder = "inline YAML, e.g. {key: value}" if node.kind == "yaml" else None
    if node.kind in ("list", "strlist"):
        placeholder = "comma-separated"
    # One line (an <input>): a growing text area measures its height as it mounts, a forced layout of
    # the whole page per text box (~0.07 s of main-thread time in a profiled cold first load).
    return gr.Textbox(value=value or "", lines=1, max_lines=1, placeholder=placeholder, **common)
