"""Field mappings for common public layouts; a preset may also unfold one row into several (trees)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from recipes.field_mapping import FieldMapping

PresetName = Literal[
    "chosen_rejected", "prompt_chosen_rejected", "pairwise_label", "pandalm", "ranked_siblings"
]

ASSISTANT_TURN = "\n\nAssistant:"


@dataclass(frozen=True)
class Preset:
    fields: FieldMapping
    description: str
    # Turns one stored row into the flat rows `fields` reads; None = the row is already flat.
    expand: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None


def ranked_sibling_groups(row: dict[str, Any]) -> list[dict[str, Any]]:
    """Every message of an OASST tree with >= 2 ranked replies → {prompt, responses, ranks}."""
    root = row.get("prompt")
    if not isinstance(root, dict):
        return []
    groups, stack = [], [root]
    while stack:
        message = stack.pop()
        replies = [reply for reply in message.get("replies") or [] if isinstance(reply, dict)]
        stack.extend(reversed(replies))
        ranked = sorted((r for r in replies if r.get("rank") is not None), key=lambda r: r["rank"])
        if len(ranked) >= 2:
            groups.append(
                {
                    "prompt": message.get("text"),
                    "responses": [r.get("text") for r in ranked],
                    "ranks": [r["rank"] for r in ranked],
                    "message_id": message.get("message_id"),
                }
            )
    return groups


def split_transcripts(chosen: str, rejected: str) -> tuple[str, str, str] | None:
    """(prompt, chosen reply, rejected reply); prompt = the longest shared prefix ending in ASSISTANT_TURN."""
    shared = 0
    for left, right in zip(chosen, rejected, strict=False):
        if left != right:
            break
        shared += 1
    cut = chosen.rfind(ASSISTANT_TURN, 0, shared)  # the whole marker must lie inside the shared prefix
    if cut < 0:
        return None
    end = cut + len(ASSISTANT_TURN)
    return chosen[:end], chosen[end:].strip(), rejected[end:].strip()


PRESETS: dict[str, Preset] = {
    "chosen_rejected": Preset(
        FieldMapping(chosen="chosen", rejected="rejected", transcripts=True),
        "HH-RLHF style: full dialogues in chosen/rejected; their shared prefix is the prompt.",
    ),
    "prompt_chosen_rejected": Preset(
        FieldMapping(prompt="prompt", chosen="chosen", rejected="rejected"),
        "Columns prompt, chosen, rejected.",
    ),
    "pairwise_label": Preset(
        FieldMapping(
            prompt="input",
            responses=["output_1", "output_2"],
            label="label",
            label_values={"1": "a", "2": "b"},
        ),
        "LLMBar style: input, output_1, output_2, label 1 or 2.",
    ),
    "pandalm": Preset(
        FieldMapping(
            prompt=["instruction", "input"],
            responses=["response1", "response2"],
            votes=["annotator1", "annotator2", "annotator3"],
            label_values={"1": "a", "2": "b", "0": "tie"},
        ),
        "PandaLM test set: instruction + input, response1/2, three annotators voting 1, 2 or 0 (tie).",
    ),
    "ranked_siblings": Preset(
        FieldMapping(prompt="prompt", responses="responses", ranks="ranks"),
        "OpenAssistant trees: each message with >= 2 ranked replies is one ranked record.",
        expand=ranked_sibling_groups,
    ),
}


def resolve_mapping(preset: str | None, fields: FieldMapping | None) -> FieldMapping | None:
    """The preset's mapping with every key the user gave in `fields` taking precedence.

    "Gave" means not null and not the default: a dumped recipe writes every key explicitly, so
    whether a key was typed must not matter, or the YAML round trip would change the mapping.
    """
    if preset is None:
        return fields
    base = PRESETS[preset].fields
    if fields is None:
        return base
    overrides = {
        name: value
        for name, info in FieldMapping.model_fields.items()
        if (value := getattr(fields, name)) is not None
        and value != info.get_default(call_default_factory=True)
    }
    return base.model_copy(update=overrides)
