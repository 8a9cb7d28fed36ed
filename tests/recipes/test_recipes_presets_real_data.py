"""Every preset against real rows from /work/shared/data (skipped when that folder is absent)."""

from recipes import FileSource, PreferenceRecord, Skip, record_to_pairs, records_from_row


def source(**kwargs) -> FileSource:
    return FileSource(kind="file", path="unused.jsonl", **kwargs)


def test_pairwise_label_reads_llmbar(llmbar_rows):
    rows = llmbar_rows[:10]
    records = [records_from_row(row, source(preset="pairwise_label")) for row in rows]
    for row, (record,) in zip(rows, records, strict=True):
        assert record.prompt == row["input"].strip()
        assert record.responses == [row["output_1"], row["output_2"]]
        assert record.pair == ((0, 1) if row["label"] == 1 else (1, 0))
    assert {record.pair for (record,) in records} == {(0, 1), (1, 0)}
    (pair,) = record_to_pairs(records[0][0])
    assert pair.chosen == rows[0][f"output_{rows[0]['label']}"]


def test_pandalm_joins_instruction_and_input_and_counts_votes(pandalm_rows):
    row = pandalm_rows[0]  # annotators 2, 2, 2; input is non-empty
    (record,) = records_from_row(row, source(preset="pandalm"))
    assert record.prompt == row["instruction"] + "\n\n" + row["input"]
    assert record.rater_votes == {(0, 1): (0, 3, 0)}
    (pair,) = record_to_pairs(record)
    assert (pair.chosen, pair.rejected, pair.soft_label) == (row["response2"], row["response1"], 1.0)


def test_pandalm_disagreement_and_ties(pandalm_rows):
    split = next(
        r for r in pandalm_rows if sorted((r["annotator1"], r["annotator2"], r["annotator3"])) == [1, 2, 2]
    )
    (record,) = records_from_row(split, source(preset="pandalm"))
    (pair,) = record_to_pairs(record)
    assert pair.chosen == split["response2"] and abs(pair.soft_label - 2 / 3) < 1e-12
    ties = [r for r in pandalm_rows if (r["annotator1"], r["annotator2"], r["annotator3"]) == (0, 0, 0)]
    tie_records = next(
        o for o in (records_from_row(r, source(preset="pandalm")) for r in ties) if isinstance(o, list)
    )
    (tie_pair,) = record_to_pairs(tie_records[0])
    assert tie_pair.is_tie and tie_pair.soft_label == 0.5
    assert tie_records[0].rater_votes == {(0, 1): (0, 0, 3)}


def test_pandalm_empty_responses_are_skipped(pandalm_rows):
    outcomes = [records_from_row(row, source(preset="pandalm")) for row in pandalm_rows]
    skips = [o for o in outcomes if isinstance(o, Skip)]
    assert skips and {s.reason for s in skips} == {"empty_response"}
    assert len(outcomes) - len(skips) > 900


def test_chosen_rejected_splits_hh_transcripts(hh_rows):
    row = hh_rows[0]
    (record,) = records_from_row(row, source(preset="chosen_rejected"))
    assert record.prompt.startswith("\n\nHuman: what are some pranks with a pen")
    assert record.prompt.endswith("\n\nAssistant:")
    assert row["chosen"].startswith(record.prompt) and row["rejected"].startswith(record.prompt)
    assert record.responses[0] == row["chosen"][len(record.prompt) :].strip()
    assert record.responses[1] == row["rejected"][len(record.prompt) :].strip()
    assert record.pair == (0, 1)
    # The prompt is the LAST shared assistant turn: no assistant turn remains in either reply.
    assert "\n\nAssistant:" not in record.responses[0] + record.responses[1]


def test_chosen_rejected_handles_many_rows(hh_rows):
    outcomes = [records_from_row(row, source(preset="chosen_rejected")) for row in hh_rows]
    records = [o[0] for o in outcomes if isinstance(o, list)]
    assert len(records) >= 45
    assert all(isinstance(r, PreferenceRecord) and r.prompt.endswith("Assistant:") for r in records)


def test_ranked_siblings_unfolds_oasst_trees(oasst_trees):
    tree = oasst_trees[0]
    records = records_from_row(tree, source(preset="ranked_siblings"))
    root = tree["prompt"]
    first = records[0]
    assert first.prompt == root["text"]
    expected = [r["text"] for r in sorted(root["replies"], key=lambda r: r["rank"])]
    assert first.responses == expected and first.ranking == list(range(len(expected)))
    pairs = record_to_pairs(first)
    k = len(expected)
    assert len(pairs) == k * (k - 1) // 2
    assert pairs[0].chosen == expected[0] and pairs[0].rejected == expected[1]


def test_ranked_siblings_finds_all_212_groups(oasst_trees):
    outcomes = [records_from_row(tree, source(preset="ranked_siblings")) for tree in oasst_trees]
    assert sum(len(o) for o in outcomes if isinstance(o, list)) == 212
    assert all(len(r.responses) >= 2 for o in outcomes if isinstance(o, list) for r in o)
