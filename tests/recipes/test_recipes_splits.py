import random

import pytest

from recipes import FileSource, PreferencePair, heldout_split, leakage, record_to_pairs, records_from_row


def pair(prompt: str, chosen: str, rejected: str) -> PreferencePair:
    return PreferencePair(prompt=prompt, chosen=chosen, rejected=rejected)


@pytest.fixture(scope="module")
def pandalm_pairs(pandalm_rows) -> list[PreferencePair]:
    source = FileSource(kind="file", path="x.json", preset="pandalm")
    outcomes = (records_from_row(row, source) for row in pandalm_rows)
    return [p for o in outcomes if isinstance(o, list) for r in o for p in record_to_pairs(r)]


def test_pairs_sharing_a_prompt_or_a_response_stay_together():
    pairs = [
        pair("q1", "a", "b"),
        pair("q1", "c", "d"),  # same prompt as 0
        pair("q2", "e", "a "),  # reuses response "a" (after strip) of 0
        pair("q3", "f", "g"),
        pair("q4", "h", "i"),
    ]
    for seed in range(20):
        train, heldout = heldout_split(pairs, 0.4, seed)
        assert sorted(train + heldout) == list(range(5))
        together = {0, 1, 2}
        assert together <= set(train) or together <= set(heldout)
        assert leakage([pairs[i] for i in train], [pairs[i] for i in heldout])["leaky"] == 0


def test_split_is_deterministic_and_depends_on_seed():
    pairs = [pair(f"q{i}", f"a{i}", f"b{i}") for i in range(50)]
    assert heldout_split(pairs, 0.2, 7) == heldout_split(pairs, 0.2, 7)
    assert heldout_split(pairs, 0.2, 7) != heldout_split(pairs, 0.2, 8)
    assert len(heldout_split(pairs, 0.2, 7)[1]) == 10
    assert heldout_split(pairs, 0.0, 7) == (list(range(50)), [])


def test_fraction_must_be_below_one():
    with pytest.raises(ValueError):
        heldout_split([pair("q", "a", "b")], 1.0, 0)


def test_leakage_counts_prompt_and_response_overlap():
    train = [pair("q1", "a", "b")]
    heldout = [pair("q1", "x", "y"), pair("q2", "a", "z"), pair("q1", "b", "w"), pair("q3", "m", "n")]
    assert leakage(train, heldout) == {
        "heldout_pairs": 4,
        "shared_prompt": 2,
        "shared_response": 2,
        "leaky": 3,
        "leak_free": 1,
    }


def test_pandalm_split_is_leak_free_and_close_to_the_fraction(pandalm_pairs):
    train, heldout = heldout_split(pandalm_pairs, 0.2, seed=0)
    assert heldout_split(pandalm_pairs, 0.2, seed=0) == (train, heldout)
    assert abs(len(heldout) / len(pandalm_pairs) - 0.2) < 0.03
    report = leakage([pandalm_pairs[i] for i in train], [pandalm_pairs[i] for i in heldout])
    assert report["leaky"] == 0 and report["leak_free"] == len(heldout)


def test_a_random_pair_level_split_of_pandalm_leaks(pandalm_pairs):
    # The reason for grouping: PandaLM reuses prompts and responses across pairs (methods.md §7).
    indices = list(range(len(pandalm_pairs)))
    random.Random(0).shuffle(indices)
    cut = len(indices) // 5
    report = leakage([pandalm_pairs[i] for i in indices[cut:]], [pandalm_pairs[i] for i in indices[:cut]])
    assert report["leaky"] > cut // 2
