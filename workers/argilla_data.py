"""Training data from an Argilla dataset: the responses the last sync brought into the store.

Reads no Argilla server: a run trains on exactly what was synced, checks the recipe's agreement gate
first (a failed gate fails the run with the reason, naming the criterion), and carries a snapshot of
the annotations (counts, sync time, agreement) that `load_and_split` freezes into the run's report.
"""

from __future__ import annotations

from annotation import service
from recipes.data_source import ArgillaSource
from recipes.preference_data import record_to_pairs
from store import annotations
from workers.errors import UserFacingError


def read_argilla(source: ArgillaSource):
    """LoadedPairs from the synced responses (one record per response), with `.report` = the snapshot."""
    from workers.data import LoadedPairs

    link = annotations.find_link(source.workspace, source.dataset)
    if link is None or link.last_sync_at is None:
        raise UserFacingError(
            f"no annotations synced from Argilla dataset {source.workspace}/{source.dataset} yet: publish it,"
            " let annotators submit, then sync (`studio annotate sync` or the studio's Annotation tab)"
        )
    spec = service.spec_of(link)
    reasons = service.gate_reasons(link, spec)
    if reasons:
        raise UserFacingError("annotation gate: " + "; ".join(reasons))
    levels = max((len(criterion.levels) for criterion in spec.criteria), default=5)
    loaded = LoadedPairs(pairs=[])
    for record in service.training_records(link.id)[: source.limit]:
        loaded.rows += 1
        group = f"a{len(loaded.records)}"
        loaded.records[group] = record
        for pair in record_to_pairs(record, levels=levels):
            pair = pair.model_copy(update={"group": group})
            if pair.is_tie:
                loaded.ties += 1  # kept out of training, as for files
            else:
                loaded.pairs.append(pair)
    loaded.report = {"annotation": service.snapshot_summary(link)}
    return loaded
