"""bench/method_throughput.py in its `usr` mode: DPO and listwise ranking on the same USR contexts (tiny)."""

from __future__ import annotations

import pytest

from bench import method_throughput as bench


@pytest.mark.slow
def test_usr_mode_times_dpo_and_ranking_on_the_same_contexts() -> None:
    args = bench.parse_args(["--model", "tiny", "--data", "usr", "--contexts", "2", "--methods", "ranking",
                             "dpo", "--threads", "1"])  # fmt: skip
    rows, text = bench.run(args)

    by_method = {row["method"]: row for row in rows}
    assert list(by_method) == ["dpo", "ranking"]  # DPO first: the ratio is relative to it
    assert not [row for row in rows if "skipped" in row], rows
    dpo, ranking = by_method["dpo"], by_method["ranking"]
    for row in (dpo, ranking):
        assert row["contexts"] == 2
        assert row["train_seconds"] > 0 and row["steps"] > 0
        assert row["dpo_pairs"] == dpo["native_rows"] > 0  # credited with the pairs DPO trains on
        expected = dpo["native_rows"] * row["epochs"] / row["train_seconds"]
        assert row["dpo_equivalent_pairs_per_second"] == pytest.approx(expected)
        assert row["vs_dpo"] == pytest.approx(dpo["train_seconds"] / row["train_seconds"])
    assert dpo["vs_dpo"] == pytest.approx(1.0)
    assert (dpo["native_unit"], ranking["native_unit"], ranking["native_rows"]) == ("pairs", "lists", 2)
    assert dpo["reference_seconds"] > 0 and ranking["reference_seconds"] is None  # ranking has no reference
    assert "| dpo | " in text and "| ranking | 2 lists" in text and "load average" in text
    assert "usr-topicalchat.train.jsonl" in text and "--data usr --contexts 2" in text
