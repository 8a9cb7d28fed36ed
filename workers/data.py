"""Data source → training and held-out PreferencePairs, with a count of every row that was skipped.

Reading is the only impure part (files, the hub); mapping rows to records and records to pairs are
the pure functions of `recipes`. A bad row never stops a run: it is counted under one of
`recipes.row_mapper.SKIP_REASONS` and the report shows the counts. No usable row at all is a user error.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recipes.data_source import ArgillaSource, FileSource, HubSource
from recipes.preference_data import PreferencePair, PreferenceRecord, record_to_pairs
from recipes.row_mapper import Skip, records_from_row
from recipes.splits import heldout_split, leakage
from workers.errors import UserFacingError

Row = dict[str, Any] | Skip


@dataclass
class LoadedPairs:
    pairs: list[PreferencePair]
    rows: int = 0
    skipped: Counter = field(default_factory=Counter)
    ties: int = 0
    # group id -> the record its pairs came from: methods that need more than pairs (ranked lists,
    # per-response scores) regroup the pairs of their side of the split through `PreferencePair.group`.
    records: dict[str, PreferenceRecord] = field(default_factory=dict)


@dataclass
class SplitData:
    train: list[PreferencePair]
    heldout: list[PreferencePair]
    report: dict[str, Any]
    judge: list[PreferencePair] = field(default_factory=list)  # E6's judge only, disjoint from both
    records: dict[str, PreferenceRecord] = field(default_factory=dict)  # by PreferencePair.group

    def records_of(self, pairs: list[PreferencePair]) -> list[PreferenceRecord]:
        """The source records of `pairs`, once each, in first-seen order (for list-shaped methods)."""
        groups = dict.fromkeys(p.group for p in pairs if p.group in self.records)
        return [self.records[g] for g in groups]


def _format_of(path: Path, declared: str) -> str:
    if declared != "auto":
        return declared
    suffixes = [s.lower() for s in path.suffixes]
    for fmt in ("jsonl", "json", "csv", "parquet"):
        if f".{fmt}" in suffixes:
            return fmt
    if ".ndjson" in suffixes:
        return "jsonl"
    raise UserFacingError(
        f"cannot tell the format of {path.name}: set data.format to jsonl, json, csv or parquet"
    )


def _open_bytes(path: Path):
    if path.suffix == ".gz":
        import gzip

        return gzip.open(path, "rb")
    return path.open("rb")


def _jsonl_rows(path: Path) -> Iterator[Row]:
    with _open_bytes(path) as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield Skip("non_utf8", f"line {number} is not valid UTF-8")
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield Skip("bad_json", f"line {number}: {exc.msg}")
                continue
            yield row if isinstance(row, dict) else Skip("bad_json", f"line {number} is not a JSON object")


def _json_rows(path: Path) -> Iterator[Row]:
    with _open_bytes(path) as handle:
        try:
            data = json.loads(handle.read().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserFacingError(
                f"{path.name} is not valid UTF-8 JSON ({exc}): fix the file or use JSONL"
            ) from None
    if isinstance(data, dict):  # {"data": [...]} and similar single-key wrappers
        lists = [v for v in data.values() if isinstance(v, list)]
        data = lists[0] if len(lists) == 1 else [data]
    for row in data:
        yield row if isinstance(row, dict) else Skip("bad_json", "an element is not a JSON object")


def _csv_rows(path: Path) -> Iterator[Row]:
    with _open_bytes(path) as handle:
        raw = handle.read()
    lines = raw.split(b"\n")
    header = lines[0].decode("utf-8", errors="replace")
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield Skip("non_utf8", f"line {number} is not valid UTF-8")
            continue
        yield from csv.DictReader(io.StringIO(header + "\n" + text))


def _parquet_rows(path: Path) -> Iterator[Row]:
    import pyarrow.parquet as pq

    yield from pq.read_table(path).to_pylist()


READERS = {"jsonl": _jsonl_rows, "json": _json_rows, "csv": _csv_rows, "parquet": _parquet_rows}


def file_rows(path_text: str, declared_format: str) -> Iterator[Row]:
    path = Path(path_text)
    if not path.is_file():
        raise UserFacingError(f"data file not found: {path} — check data.path in the recipe")
    return READERS[_format_of(path, declared_format)](path)


def hub_rows(source: HubSource, split: str) -> Iterator[Row]:
    import datasets

    try:
        dataset = datasets.load_dataset(source.dataset, source.config, split=split)
    except Exception as exc:  # the hub client raises many types; the user needs one line
        raise UserFacingError(f"cannot load hub dataset {source.dataset!r} split {split!r}: {exc}") from None
    yield from dataset


def pairs_from_rows(
    rows: Iterator[Row], source: FileSource | HubSource, limit: int | None = None, group_prefix: str = "r"
) -> LoadedPairs:
    loaded = LoadedPairs(pairs=[])
    for row in rows:
        if limit is not None and loaded.rows >= limit:
            break
        loaded.rows += 1
        result = row if isinstance(row, Skip) else records_from_row(row, source)
        if isinstance(result, Skip):
            loaded.skipped[result.reason] += 1
            continue
        for record in result:
            group = f"{group_prefix}{len(loaded.records)}"
            loaded.records[group] = record
            for pair in record_to_pairs(record):
                pair = pair.model_copy(update={"group": group})
                if pair.is_tie:
                    loaded.ties += 1  # ties give no DPO gradient (methods.md §6.2); kept out of training
                else:
                    loaded.pairs.append(pair)
    return loaded


def _summary(name: str, loaded: LoadedPairs) -> dict[str, Any]:
    return {
        f"{name}_rows": loaded.rows,
        f"{name}_pairs": len(loaded.pairs),
        f"{name}_ties": loaded.ties,
        f"{name}_skipped": dict(sorted(loaded.skipped.items())),
    }


def _no_usable_rows(loaded: LoadedPairs, where: str) -> UserFacingError:
    counts = ", ".join(f"{reason} {n}" for reason, n in sorted(loaded.skipped.items())) or "none skipped"
    return UserFacingError(f"no usable rows in {where}: {loaded.rows} read ({counts})")


def _read(source: FileSource | HubSource) -> tuple[LoadedPairs, LoadedPairs | None, str]:
    """(main pairs, fixed held-out pairs or None, a name for messages)."""
    if isinstance(source, ArgillaSource):
        from workers.argilla_data import read_argilla

        return read_argilla(source), None, f"argilla:{source.workspace}/{source.dataset}"
    if isinstance(source, FileSource):
        main = pairs_from_rows(file_rows(source.path, source.format), source, source.limit)
        fixed = source.heldout_path and pairs_from_rows(
            file_rows(source.heldout_path, source.format), source, group_prefix="h"
        )
        return main, fixed or None, source.path
    main = pairs_from_rows(hub_rows(source, source.split), source, source.limit)
    fixed = source.heldout_split and pairs_from_rows(
        hub_rows(source, source.heldout_split), source, group_prefix="h"
    )
    return main, fixed or None, f"{source.dataset}:{source.split}"


def _set_judge_aside(pairs, fixed, fraction: float, seed: int) -> tuple[list, list]:
    """(judge pairs, the rest): no prompt or response of the judge's pairs is trained or evaluated on."""
    from workers.reward_models.judge import disjoint_judge_split

    judge_idx, rest_idx = disjoint_judge_split(pairs, fraction, seed, exclude=fixed.pairs if fixed else ())
    return [pairs[i] for i in judge_idx], [pairs[i] for i in rest_idx]


def load_and_split(
    source: FileSource | HubSource, heldout_fraction: float, seed: int, judge_fraction: float = 0.0
) -> SplitData:
    """Training, held-out (a fixed file/split wins over the fraction) and, when asked, judge pairs."""
    main, fixed, where = _read(source)
    if not main.pairs:
        raise _no_usable_rows(main, where)
    report = _summary("data", main) | getattr(main, "report", {})  # Argilla: the annotation snapshot
    judge, pool = (
        _set_judge_aside(main.pairs, fixed, judge_fraction, seed) if judge_fraction else ([], main.pairs)
    )
    if fixed:
        train, heldout = pool, fixed.pairs
        report |= _summary("heldout_file", fixed) | {"split": "fixed held-out file"}
    else:
        train_idx, heldout_idx = heldout_split(pool, heldout_fraction, seed)
        train, heldout = [pool[i] for i in train_idx], [pool[i] for i in heldout_idx]
        report["split"] = f"prompt-disjoint, fraction {heldout_fraction}, seed {seed}"
    report["train_pairs"], report["heldout_pairs"] = len(train), len(heldout)
    report["leakage"] = leakage(train, heldout)
    if judge_fraction:
        report["judge_pairs"] = len(judge)
        report["judge_leakage"] = {
            "train": leakage(train, judge)["leaky"],
            "heldout": leakage(heldout, judge)["leaky"],
        }
    records = main.records | (fixed.records if fixed else {})
    return SplitData(train, heldout, report, judge, records)
