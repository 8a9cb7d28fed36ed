"""The recipe's agreement gate: whether training may start, and if not, why in words a user can act on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recipes.annotation_spec import AgreementGate


def check_gate(
    report: Mapping[str, Mapping[str, Any]], completed_records: int, gate: AgreementGate
) -> list[str]:
    """One human-readable reason per failed condition; an empty list means training may start.

    Conditions: completed_records ≥ gate.min_completed_records, and α ≥ gate.min_alpha for every gated
    criterion (gate.criteria, or every question in the `agreement_report`). An α that cannot be computed
    fails a set min_alpha: the gate cannot vouch for agreement it cannot measure.
    """
    reasons = []
    minimum = gate.min_completed_records
    if minimum is not None and completed_records < minimum:
        reasons.append(
            f"only {completed_records} records are completed, below the recipe's minimum {minimum} — "
            "keep annotating or lower annotation.gate.min_completed_records"
        )
    if gate.min_alpha is None:
        return reasons
    for criterion in gate.criteria if gate.criteria is not None else list(report):
        reason = _criterion_reason(criterion, report.get(criterion), gate.min_alpha, sorted(report))
        if reason:
            reasons.append(reason)
    return reasons


def _criterion_reason(
    criterion: str, entry: Mapping[str, Any] | None, min_alpha: float, known: list[str]
) -> str | None:
    if entry is None:
        return (
            f"the recipe gates on criterion '{criterion}', but the annotations have no such question "
            f"(known: {', '.join(known) or 'none'}) — fix annotation.gate.criteria"
        )
    alpha, level, n = entry["alpha"], entry["level"], entry["n_pairable"]
    if alpha is None:
        return (
            f"agreement on '{criterion}' cannot be measured yet ({entry.get('alpha_reason')}), and the "
            f"recipe requires α ≥ {min_alpha:.2f} — collect overlapping annotations or remove "
            "annotation.gate.min_alpha"
        )
    if alpha >= min_alpha:
        return None
    shown, limit = _two_numbers(alpha, min_alpha)
    return (
        f"agreement on '{criterion}' is α = {shown} ({level}) on {n} records, below the recipe's minimum "
        f"{limit} — collect more overlapping annotations or lower annotation.gate.min_alpha"
    )


def _two_numbers(value: float, limit: float) -> tuple[str, str]:
    """Format both with 2 decimals, or more where fewer would print a failing value equal to the limit.

    Rounding is monotone, so the first precision that tells them apart shows value < limit.
    """
    for digits in range(2, 10):
        shown, bound = f"{value:.{digits}f}", f"{limit:.{digits}f}"
        if shown != bound:
            return shown, bound
    return repr(value), repr(limit)
