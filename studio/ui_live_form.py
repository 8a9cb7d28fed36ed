"""A schema form whose unions carry only the picked member's widgets (issue 6: a form holding every
method's and data source's widgets made the first page load slow).

All widget values live in one `gr.State` dict (`values`, keyed like `studio.forms`), so a member that is
not on the page keeps what the user typed for it, and every action reads the whole form from there.

Each union shows its starting member with the page (no round trip before the form is usable). When the
picker changes, or `load` brings other values, that box is hidden for good and the union's `gr.render`
block draws the picked member instead, from `values`. A change anywhere merges the changed widgets into
`values`, re-checks the form and updates every error line: directly where the widgets are static, and
through the union's own `problems` state for a drawn member (its components exist only inside the render
block). Its own state: once a render block adds a listener, Gradio 6 keeps one listener per trigger, so
no two blocks may listen to the same event. A member's problems are sent only when they differ from what
its error lines show (`shown`), and never to a member being redrawn: its old listener is about to go,
and a call to it would fail.

Every event that writes `values` runs in one queue slot (`concurrency_id`), so two quick edits in
different places cannot both read the old dict and lose one of the changes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence, Set
from typing import Any

import gradio as gr

from studio.forms import PICKER, Choice, Section
from studio.ui_form import RenderedForm, render, render_picker, render_variant

# values -> ({widget key: messages}, updates for the caller's extra outputs)
Check = Callable[[dict[str, Any]], tuple[dict[str, list[str]], list[Any]]]
_SERIAL = itertools.count(1)  # makes every problems update a change, even to the same set
STATIC = "."  # the key in `shown` for the problems of the widgets drawn with the page (no union is ".")
SYNC = {"concurrency_id": "studio-form-sync", "concurrency_limit": 1, "show_progress": "hidden",
        "trigger_mode": "always_last"}  # fmt: skip


class LiveForm:
    """Build inside a Blocks context, then call `wire(check, extra_outputs)` once."""

    def __init__(
        self, tree: Section, start: dict[str, Any], before: dict | None = None, namespace: str = "",
        open_paths: frozenset[str] | None = None, more: frozenset[str] = frozenset(),
    ) -> None:  # fmt: skip
        self.tree = tree
        self.values = gr.State(dict(start))
        self.shown = gr.State({})  # union key -> the problems its drawn member's error lines show now
        self.columns = gr.State([])  # column names offered by column widgets (the uploaded file's)
        self.epochs: dict[str, gr.State] = {}  # union key -> a counter; bumping it redraws the member
        self.problems: dict[str, gr.State] = {}  # union key -> [serial, problems of its drawn member]
        self.first: dict[str, RenderedForm] = {}  # union key -> its starting member, drawn with the page
        self.first_box: dict[str, gr.Group] = {}
        self.check: Check = lambda values: ({}, [])
        self.extra_outputs: list[Any] = []
        self.layout = {"open_paths": open_paths, "more": more}  # which sections and fields start folded
        self.static = render(tree, start, before, namespace, on_choice=self._union, **self.layout)

    # ---- building -------------------------------------------------------------------------------

    def _union(self, form: RenderedForm, choice: Choice, values: dict) -> None:
        epoch = self.epochs[choice.key] = gr.State(0)
        problems = self.problems[choice.key] = gr.State([0, {}])
        with gr.Accordion(choice.label, open=True, elem_id=form.id(choice.key, "section")):
            picked = render_picker(form, choice, values)
            first = self.first[choice.key] = RenderedForm(choice.variants[picked], namespace=form.namespace,
                                                          **self.layout)  # fmt: skip
            self.first_box[choice.key] = render_variant(first, choice.variants[picked], values, {})
            first.groups.pop(choice.variants[picked].key)  # its box is first_box

            @gr.render(inputs=[self.values, self.columns], triggers=[epoch.change], show_progress="hidden")
            def _member(current: dict, columns: list) -> None:
                self._draw_member(choice, current, columns, problems)

    def _draw_member(self, choice: Choice, values: dict, columns: list, problems: gr.State) -> None:
        """The picked member's widgets, showing their problems at once."""
        variant = choice.variants.get(values.get(choice.key + PICKER) or choice.default)
        if variant is None:
            return
        part = RenderedForm(variant, namespace=self.static.namespace, problems=self.check(values)[0],
                            column_choices=list(columns or []), **self.layout)  # fmt: skip
        render_variant(part, variant, values, {})
        part.groups.pop(variant.key)  # the member's own box is always shown
        if not part.widgets:
            return
        inputs = [self.values, self.shown, *part.inputs]
        outputs = [*self._outputs(), *part.groups.values()]
        gr.on([w.input for w in part.inputs], self._sync(part.keys, part), inputs, outputs, **SYNC)
        # Also problems found by edits elsewhere (the other union, a static field); a folded section
        # holding one opens.
        problems.change(lambda update: [*part.error_updates(update[1]), *part.section_updates(update[1])],
                        problems, [*part.errors.values(), *part.sections.values()],
                        show_progress="hidden")  # fmt: skip

    # ---- events -----------------------------------------------------------------------------------

    def wire(self, check: Check, extra_outputs: list[Any]) -> None:
        """`check(values)` gives the problems and the updates of `extra_outputs` (YAML, summary, ...)."""
        self.check, self.extra_outputs = check, list(extra_outputs)
        pickers = {k[: -len(PICKER)]: k for k in self.static.keys if k.endswith(PICKER)}
        pickers = {union: key for union, key in pickers.items() if union in self.epochs}
        plain = [k for k in self.static.keys if k not in pickers.values()]
        # One listener per group of widgets: a hidden starting member sends nothing stale.
        for keys in [plain, *(first.keys for first in self.first.values())]:
            self._listen(keys, {**self.static.widgets, **self._first_widgets()})
        for union, key in pickers.items():
            epoch, widget = self.epochs[union], self.static.widgets[key]

            def picked(current: dict, shown: dict, count: int, value: Any, key=key, union=union) -> list:
                return [count + 1, *self.after({**current, key: value}, shown, redrawn={union})]

            widget.input(picked, [self.values, self.shown, epoch, widget], [epoch, *self._outputs()], **SYNC)

    def _listen(self, keys: list[str], widgets: dict[str, Any]) -> None:
        if keys:
            inputs = [self.values, self.shown, *(widgets[k] for k in keys)]
            gr.on([widgets[k].input for k in keys], self._sync(keys), inputs, self._outputs(), **SYNC)

    def _first_widgets(self) -> dict[str, Any]:
        return {key: widget for first in self.first.values() for key, widget in first.widgets.items()}

    def _outputs(self) -> list[Any]:
        static, firsts = self.static, list(self.first.values())
        return [self.values, self.shown, *self.problems.values(),
                *(w for form in (static, *firsts) for w in form.errors.values()),
                *static.groups.values(), *static.sections.values(),
                *(s for f in firsts for s in f.sections.values()),
                *(g for f in firsts for g in f.groups.values()), *self.first_box.values(),
                *self.extra_outputs]  # fmt: skip

    def after(
        self, values: dict[str, Any], shown: dict, redrawn: Set[str] = frozenset(), load: bool = False
    ) -> list[Any]:
        """Updates for `_outputs()` once `values` is the form's content; `redrawn` unions are being
        redrawn (their starting box goes, and their drawn member shows its own problems). `load`: the
        widgets get their values too. Widgets whose problems did not change are skipped."""
        placed, extra = self.check(values)
        shown, serial, per_member = dict(shown or {}), next(_SERIAL), []
        for union in self.problems:
            mine = {k: v for k, v in placed.items() if _in(k, union)}
            changed = union not in redrawn and mine != shown.get(union, {})
            per_member.append([serial, mine] if changed else gr.skip())
            shown[union] = mine
        static, firsts = self.static, list(self.first.values())
        before, shown[STATIC] = shown.get(STATIC, {}), placed  # the static and starting widgets' problems
        loaded = values if load else None
        widgets = [u for form in (static, *firsts) for u in form.error_updates(placed, before, loaded)]
        boxes = [gr.update(visible=False) if union in redrawn else gr.skip() for union in self.first_box]
        return [values, shown, *per_member, *widgets, *static.group_updates(values),
                *static.section_updates(placed), *(u for f in firsts for u in f.section_updates(placed)),
                *(u for f in firsts for u in f.group_updates(values)), *boxes, *extra]  # fmt: skip

    def _sync(self, keys: list[str], part: RenderedForm | None = None) -> Callable[..., list[Any]]:
        def sync(current: dict, shown: dict, *args: Any) -> list[Any]:
            values = {**current, **dict(zip(keys, args, strict=True))}
            groups = part.group_updates(values) if part is not None else []
            return [*self.after(values, shown), *groups]

        return sync

    # ---- replacing the whole content (YAML applied, file uploaded) --------------------------------

    @property
    def state_inputs(self) -> list[gr.State]:
        """Inputs that `load(state, ...)` takes as `state`: the values, what is shown, the epochs."""
        return [self.values, self.shown, *self.epochs.values()]

    def load_outputs(self) -> list[Any]:
        """Outputs of `load`: every union's epoch, then `_outputs()` (which has every static widget)."""
        return [*self.epochs.values(), *self._outputs()]

    def load(self, state: Sequence[Any], values: dict, redraw: Set[str] = frozenset()) -> list:
        """Show `values` everywhere: static widgets get them; a union is redrawn when its part of the
        values changed (or it is in `redraw`). Nothing changed: nothing is sent (clicking Apply blurs
        the YAML editor first: the same YAML arrives twice)."""
        current, shown, *epochs = state
        redrawn = {key for key in self.epochs if key in redraw or _part(current, key) != _part(values, key)}
        if not redrawn and values == current:
            return [gr.skip()] * len(self.load_outputs())
        bumped = [count + (key in redrawn) for key, count in zip(self.epochs, epochs, strict=True)]
        return [*bumped, *self.after(values, shown, redrawn, load=True)]


def _in(key: str, union_key: str) -> bool:
    """Whether a widget key belongs to one of the union's members."""
    return key.startswith(union_key + ".")


def _part(values: dict[str, Any], union_key: str) -> dict[str, Any]:
    """The values of one union: its picker and every member's widgets."""
    return {k: v for k, v in values.items() if k == union_key + PICKER or _in(k, union_key)}
