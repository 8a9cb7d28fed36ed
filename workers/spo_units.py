"""SPO's key-content units and degraded variants, on plain text (methods.md §2b; no torch here).

A unit is a sentence: text up to . ! ? … (closing quotes and brackets included) before whitespace, or
a line. A response with n units yields variants y^(k), k = 1..K_eff with K_eff = min(K, n − 1): the
k most important units deleted, nested (y^(k+1) deletes one unit more than y^(k)), and never every
unit, so a variant always keeps some of the answer. Importance comes from a selector (see
`workers.methods.spo`); here it is just one number per unit, highest deleted first.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# A sentence end: terminal punctuation, then closing quotes or brackets, then whitespace or the end.
_SENTENCE_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")
# Words whose trailing period is not a sentence end (lowercased, without the period).
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "st", "no", "fig", "approx"}
)
# A piece with fewer letters or digits than this ("1.", "-", "a)") is a list marker, not a unit: it
# joins the next piece.
MIN_UNIT_ALNUM = 3


@dataclass(frozen=True)
class Unit:
    start: int  # character offsets into the response text, whitespace stripped
    end: int


def _is_abbreviation(line: str, dot: int) -> bool:
    """Whether the period at `dot` ends a known abbreviation, an initial ("J.") or a list number."""
    word = re.search(r"[\w.]*$", line[:dot]).group(0).lower()
    enumerator = word.isdigit() and not line[: dot - len(word)].strip()  # "2." opening a list item
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()) or enumerator


def _line_pieces(line: str, offset: int) -> list[Unit]:
    pieces, start = [], 0
    for match in _SENTENCE_END.finditer(line):
        if (
            match.group(0).startswith(".")
            and len(match.group(0)) == 1
            and _is_abbreviation(line, match.start())
        ):
            continue
        pieces.append(Unit(offset + start, offset + match.end()))
        start = match.end()
    pieces.append(Unit(offset + start, offset + len(line)))
    return pieces


def _strip(text: str, unit: Unit) -> Unit | None:
    piece = text[unit.start : unit.end]
    if not piece.strip():
        return None
    lead = len(piece) - len(piece.lstrip())
    return Unit(unit.start + lead, unit.start + len(piece.rstrip()))


def _alnum(text: str, unit: Unit) -> int:
    return sum(ch.isalnum() for ch in text[unit.start : unit.end])


def sentence_units(text: str) -> list[Unit]:
    """The response's sentences (and lines) as character spans, in order; list markers join the next."""
    pieces, offset = [], 0
    for line in text.split("\n"):
        pieces += [u for u in (_strip(text, p) for p in _line_pieces(line, offset)) if u is not None]
        offset += len(line) + 1
    units: list[Unit] = []
    pending: Unit | None = None  # a too-short piece waiting to join the next one
    for piece in pieces:
        if pending is not None:
            piece, pending = Unit(pending.start, piece.end), None
        if _alnum(text, piece) < MIN_UNIT_ALNUM:
            pending = piece
        else:
            units.append(piece)
    if pending is not None:  # a short piece at the very end joins the one before it
        units = units[:-1] + [Unit(units[-1].start, pending.end)] if units else [pending]
    return units


def without_units(text: str, units: Sequence[Unit], deleted: set[int]) -> str:
    """The text with the units at `deleted` removed; each kept unit keeps the gap it had before it."""
    kept = [i for i in range(len(units)) if i not in deleted]
    if not kept:
        return ""
    parts = [text[units[kept[0]].start : units[kept[0]].end]]
    for i in kept[1:]:
        gap = text[units[i - 1].end : units[i].start]
        parts.append((gap if gap.strip() == "" else " ") + text[units[i].start : units[i].end])
    return "".join(parts)


def unit_token_spans(
    tokenize: Callable[[str], list[int]], text: str, units: Sequence[Unit]
) -> list[tuple[int, int]]:
    """[start, end) token indices of each unit in `tokenize(text)`, from the token counts of prefixes.

    The whitespace before a unit belongs to it (BPE tokenizers glue a space to the next word). Works
    with any tokenizer; a merge across a sentence boundary can shift a boundary by one token.
    """
    ends = [len(tokenize(text[: unit.end])) for unit in units]
    return [(ends[i - 1] if i else 0, end) for i, end in enumerate(ends)]


def effective_units(max_units: int, n_units: int, deletable: int) -> int:
    """K_eff = min(K, n − 1, deletable): never delete every unit, only units the model gets to see."""
    return max(0, min(max_units, n_units - 1, deletable))


def deletion_order(importance: Sequence[float]) -> list[int]:
    """Unit indices, most important first; ties go to the earlier unit (a stable order)."""
    return sorted(range(len(importance)), key=lambda i: (-importance[i], i))


def degraded_texts(text: str, units: Sequence[Unit], order: Sequence[int], k_eff: int) -> list[str]:
    """[y^(1), ..., y^(K_eff)]: y^(k) deletes the first k units of `order` (nested)."""
    return [without_units(text, units, set(order[:k])) for k in range(1, k_eff + 1)]


# --- Selectors that need no model: one importance per unit ----------------------------------------


def longest_first(text: str, units: Sequence[Unit]) -> list[float]:
    """Importance = characters: the longest sentence is taken as the one carrying the most content."""
    return [float(u.end - u.start) for u in units]


def random_importance(seed: int) -> Callable[[str, Sequence[Unit]], list[float]]:
    """Seeded by the run seed and the text itself, so a response gets the same order in every run."""

    def importance(text: str, units: Sequence[Unit]) -> list[float]:
        rng = random.Random(f"{seed}\x00{text}")
        return [rng.random() for _ in units]

    return importance
