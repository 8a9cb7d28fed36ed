"""The pure row mapper: one raw data row → PreferenceRecords, or a Skip with a fixed reason."""

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from recipes.field_mapping import FieldMapping
from recipes.preference_data import PreferenceRecord
from recipes.presets import PRESETS, resolve_mapping, split_transcripts

if TYPE_CHECKING:
    from recipes.data_source import FileSource, HubSource

SkipReason = Literal[
    "missing_field", "empty_response", "identical_responses", "bad_label", "bad_json", "non_utf8"
]
# bad_json and non_utf8 are produced by the file reader in workers; they share this vocabulary.
SKIP_REASONS: tuple[str, ...] = SkipReason.__args__


@dataclass(frozen=True)
class Skip:
    reason: SkipReason
    detail: str


class _SkipRow(Exception):
    def __init__(self, reason: SkipReason, detail: str):
        super().__init__(detail)
        self.skip = Skip(reason, detail)


def records_from_row(row: dict[str, Any], source: "FileSource | HubSource") -> list[PreferenceRecord] | Skip:
    """Map one row with the source's preset + field mapping.

    A preset that unfolds rows (OASST trees) may give several records; groups inside a row that fail are
    dropped, and the row is skipped (with the first group's reason) only if none survives.
    """
    mapping = resolve_mapping(source.preset, source.fields)
    expand = PRESETS[source.preset].expand if source.preset else None
    flat_rows = expand(row) if expand else [row]
    if not flat_rows:
        return Skip("missing_field", "no message with at least two ranked replies")
    records, skips = [], []
    for flat in flat_rows:
        try:
            records.append(_record_from_flat_row(flat, mapping))
        except _SkipRow as skipped:
            skips.append(skipped.skip)
    return records if records else skips[0]


def _value(row: dict[str, Any], column: str) -> Any:
    if column not in row or row[column] is None:
        raise _SkipRow("missing_field", f"column '{column}' is missing")
    return row[column]


def _text(row: dict[str, Any], column: str) -> str:
    value = _value(row, column)
    return value if isinstance(value, str) else str(value)


def _prompt_and_pair_texts(row: dict[str, Any], mapping: FieldMapping) -> tuple[str, list[str]]:
    if mapping.transcripts:
        split = split_transcripts(_text(row, mapping.chosen), _text(row, mapping.rejected))
        if split is None:
            raise _SkipRow("missing_field", "chosen and rejected share no prefix ending in 'Assistant:'")
        return split[0], [split[1], split[2]]
    return _prompt(row, mapping), [_text(row, mapping.chosen), _text(row, mapping.rejected)]


def _prompt(row: dict[str, Any], mapping: FieldMapping) -> str:
    columns = [mapping.prompt] if isinstance(mapping.prompt, str) else mapping.prompt
    parts = [_text(row, column).strip() for column in columns]
    prompt = "\n\n".join(part for part in parts if part)
    if not prompt:
        raise _SkipRow("missing_field", "the prompt is empty")
    return prompt


def _responses(row: dict[str, Any], mapping: FieldMapping) -> tuple[list[str], list[Any]]:
    """Response texts, plus the raw list elements (for ranks stored inside them)."""
    if isinstance(mapping.responses, list):
        return [_text(row, column) for column in mapping.responses], []
    items = _value(row, mapping.responses)
    if not isinstance(items, list) or len(items) < 2:
        raise _SkipRow(
            "missing_field", f"column '{mapping.responses}' does not hold a list of >= 2 responses"
        )
    texts = []
    for item in items:
        text = item.get(mapping.response_text_key) if isinstance(item, dict) else item
        if text is None:
            raise _SkipRow("missing_field", f"a response has no '{mapping.response_text_key}'")
        texts.append(str(text))
    return texts, items


def _check_texts(responses: list[str]) -> None:
    stripped = [text.strip() for text in responses]
    if any(not text for text in stripped):
        raise _SkipRow("empty_response", "a response is empty or only whitespace")
    if len(set(stripped)) < len(stripped):
        raise _SkipRow("identical_responses", "two responses are identical")


def _meaning(row: dict[str, Any], column: str, mapping: FieldMapping) -> str:
    raw = _value(row, column)
    meaning = mapping.effective_label_values().get(str(raw))
    if meaning is None:
        known = ", ".join(mapping.effective_label_values())
        raise _SkipRow("bad_label", f"'{column}' = {raw!r} is not one of the label values ({known})")
    return meaning


def _ranking(row: dict[str, Any], mapping: FieldMapping, items: list[Any], count: int) -> list[int]:
    if mapping.ranks in row:
        ranks = _value(row, mapping.ranks)
    else:
        ranks = [item.get(mapping.ranks) if isinstance(item, dict) else None for item in items]
    if not isinstance(ranks, list) or len(ranks) != count:
        raise _SkipRow("bad_label", f"need one rank per response in '{mapping.ranks}'")
    if any(isinstance(r, bool) or not isinstance(r, int | float) for r in ranks):
        raise _SkipRow("bad_label", f"ranks must be numbers, got {ranks!r}")
    if len(set(ranks)) < count:
        raise _SkipRow("bad_label", f"tied ranks {ranks!r}: the order is ambiguous")
    return sorted(range(count), key=lambda idx: ranks[idx])


def _ratings(row: dict[str, Any], mapping: FieldMapping, count: int) -> dict[str, dict[int, int]]:
    ratings = {}
    for criterion, columns in mapping.ratings.items():
        if len(columns) != count:
            raise _SkipRow(
                "bad_label", f"ratings '{criterion}' name {len(columns)} columns for {count} responses"
            )
        values = [_value(row, column) for column in columns]
        try:
            as_ints = [int(v) for v in values]
        except (TypeError, ValueError):
            raise _SkipRow("bad_label", f"ratings '{criterion}' are not whole numbers: {values!r}") from None
        if as_ints != [float(v) for v in values]:
            raise _SkipRow("bad_label", f"ratings '{criterion}' are not whole numbers: {values!r}")
        ratings[criterion] = dict(enumerate(as_ints))
    return ratings


def _score_values(row: dict[str, Any], columns: str | list[str], name: str, count: int) -> list[Any]:
    values = (
        [_value(row, column) for column in columns] if isinstance(columns, list) else _value(row, columns)
    )
    if not isinstance(values, list) or len(values) != count:
        raise _SkipRow("bad_label", f"scores '{name}' need one value per response ({count})")
    return values


def _scores(row: dict[str, Any], mapping: FieldMapping, count: int) -> dict[str, dict[int, float]]:
    """Each objective's scores mapped to [0, 1] with its (worst, best) scale."""
    scores = {}
    for name, columns in mapping.scores.items():
        worst, best = (mapping.score_scales or {}).get(name, (0.0, 1.0))
        normalized = {}
        for index, value in enumerate(_score_values(row, columns, name, count)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _SkipRow("bad_label", f"scores '{name}' must be numbers, got {value!r}")
            unit = (value - worst) / (best - worst)
            if not -1e-9 <= unit <= 1 + 1e-9:
                raise _SkipRow(
                    "bad_label", f"score {value} for '{name}' is outside its scale {worst}..{best}"
                )
            normalized[index] = min(max(unit, 0.0), 1.0)
        scores[name] = normalized
    return scores


def _signal(row: dict[str, Any], mapping: FieldMapping, items: list[Any], count: int) -> dict[str, Any]:
    signal: dict[str, Any] = {}
    if (mapping.label or mapping.votes) and count != 2:
        raise _SkipRow("bad_label", f"a label or votes compare two responses, this row has {count}")
    if mapping.label:
        meaning = _meaning(row, mapping.label, mapping)
        if meaning == "tie":
            signal["rater_votes"] = {(0, 1): (0, 0, 1)}
        else:
            signal["pair"] = (0, 1) if meaning == "a" else (1, 0)
    if mapping.votes:
        meanings = [_meaning(row, column, mapping) for column in mapping.votes]
        signal["rater_votes"] = {(0, 1): tuple(meanings.count(m) for m in ("a", "b", "tie"))}
    if mapping.ranks:
        signal["ranking"] = _ranking(row, mapping, items, count)
    if mapping.ratings:
        signal["ratings"] = _ratings(row, mapping, count)
    if mapping.scores:
        signal["objective_scores"] = _scores(row, mapping, count)
    return signal


def _optional_text(row: dict[str, Any], column: str | None) -> str | None:
    if column is None or row.get(column) is None:
        return None
    return str(row[column])


def _record_from_flat_row(row: dict[str, Any], mapping: FieldMapping) -> PreferenceRecord:
    if not isinstance(row, dict):
        raise _SkipRow("missing_field", "the row is not an object")
    if mapping.chosen and mapping.rejected:
        prompt, responses = _prompt_and_pair_texts(row, mapping)
        _check_texts(responses)
        signal: dict[str, Any] = {"pair": (0, 1)}
    else:
        prompt = _prompt(row, mapping)
        responses, items = _responses(row, mapping)
        _check_texts(responses)
        signal = _signal(row, mapping, items, len(responses))
    return PreferenceRecord(
        prompt=prompt,
        responses=responses,
        rationale=_optional_text(row, mapping.rationale),
        annotator_id=_optional_text(row, mapping.annotator),
        **signal,
    )
