"""The pure row mapper on hand-made rows: mappings, overrides, and every skip reason it produces."""

import pytest

from recipes import SKIP_REASONS, FieldMapping, FileSource, HubSource, RecipeError, Skip, parse_recipe
from recipes import records_from_row as map_row


def file_source(**kwargs) -> FileSource:
    return FileSource(kind="file", path="x.jsonl", **kwargs)


PAIR_ROW = {"prompt": "Say hi", "chosen": "Hi!", "rejected": "Go away."}


def test_skip_vocabulary_is_fixed():
    assert set(SKIP_REASONS) == {
        "missing_field",
        "empty_response",
        "identical_responses",
        "bad_label",
        "bad_json",
        "non_utf8",
    }


def test_prompt_chosen_rejected_row():
    (record,) = map_row(PAIR_ROW, file_source(preset="prompt_chosen_rejected"))
    assert (record.prompt, record.responses, record.pair) == ("Say hi", ["Hi!", "Go away."], (0, 1))


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"prompt": "p", "chosen": "a"}, "missing_field"),
        ({"prompt": "p", "chosen": "a", "rejected": None}, "missing_field"),
        ({"prompt": "  ", "chosen": "a", "rejected": "b"}, "missing_field"),
        ({"prompt": "p", "chosen": "   ", "rejected": "b"}, "empty_response"),
        ({"prompt": "p", "chosen": "same ", "rejected": " same"}, "identical_responses"),
    ],
)
def test_bad_pair_rows_are_skipped_with_the_right_reason(row, reason):
    outcome = map_row(row, file_source(preset="prompt_chosen_rejected"))
    assert isinstance(outcome, Skip) and outcome.reason == reason and outcome.detail


@pytest.mark.parametrize("label", [3, "x", None])
def test_unknown_labels_are_bad_labels(label):
    row = {"input": "q", "output_1": "a", "output_2": "b", "label": label}
    outcome = map_row(row, file_source(preset="pairwise_label"))
    assert outcome.reason == ("missing_field" if label is None else "bad_label")


def test_transcripts_without_a_shared_assistant_turn_are_skipped():
    row = {"chosen": "\n\nHuman: a\n\nAssistant: b", "rejected": "\n\nHuman: c\n\nAssistant: d"}
    assert map_row(row, file_source(preset="chosen_rejected")).reason == "missing_field"


def test_transcript_prompt_is_the_last_shared_assistant_turn():
    shared = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant:"
    row = {"chosen": shared + " A funny one.", "rejected": shared + " No."}
    (record,) = map_row(row, file_source(preset="chosen_rejected"))
    assert record.prompt == shared and record.responses == ["A funny one.", "No."]


def test_user_fields_override_preset_keys():
    row = {"question": "q", "output_1": "a", "output_2": "b", "label": "B", "why": "shorter"}
    fields = FieldMapping(prompt="question", label_values={"A": "a", "B": "b"}, rationale="why")
    (record,) = map_row(row, file_source(preset="pairwise_label", fields=fields))
    assert (record.prompt, record.pair, record.rationale) == ("q", (1, 0), "shorter")


def test_label_tie_becomes_a_single_tie_vote():
    fields = FieldMapping(prompt="p", responses=["a", "b"], label="l")
    (record,) = map_row({"p": "q", "a": "x", "b": "y", "l": 0}, file_source(fields=fields))
    assert record.pair is None and record.rater_votes == {(0, 1): (0, 0, 1)}


def test_votes_with_a_bad_value_are_bad_labels():
    row = {"instruction": "i", "input": "", "response1": "a", "response2": "b"}
    row |= {"annotator1": 1, "annotator2": 7, "annotator3": 1}
    assert map_row(row, file_source(preset="pandalm")).reason == "bad_label"


def test_list_valued_responses_with_ranks_inside_elements():
    fields = FieldMapping(prompt="q", responses="answers", ranks="rank", response_text_key="body")
    row = {
        "q": "p",
        "answers": [{"body": "ok", "rank": 2}, {"body": "best", "rank": 1}, {"body": "bad", "rank": 3}],
    }
    (record,) = map_row(row, file_source(fields=fields))
    assert record.responses == ["ok", "best", "bad"] and record.ranking == [1, 0, 2]


def test_rank_column_and_tied_ranks():
    fields = FieldMapping(prompt="q", responses="answers", ranks="ranks")
    (record,) = map_row({"q": "p", "answers": ["a", "b"], "ranks": [1, 0]}, file_source(fields=fields))
    assert record.ranking == [1, 0]
    tied = map_row({"q": "p", "answers": ["a", "b"], "ranks": [0, 0]}, file_source(fields=fields))
    assert tied.reason == "bad_label"


def test_ratings_columns_per_criterion():
    fields = FieldMapping(
        prompt="q", responses=["r1", "r2"], ratings={"help": ["h1", "h2"], "safe": ["s1", "s2"]}
    )
    row = {"q": "p", "r1": "a", "r2": "b", "h1": 5, "h2": "3", "s1": 4, "s2": 4.0}
    (record,) = map_row(row, file_source(fields=fields))
    assert record.ratings == {"help": {0: 5, 1: 3}, "safe": {0: 4, 1: 4}}
    row["h2"] = 3.5
    assert map_row(row, file_source(fields=fields)).reason == "bad_label"


def test_tree_without_ranked_replies_is_skipped():
    tree = {"prompt": {"text": "hi", "replies": [{"text": "a", "rank": None}]}}
    outcome = map_row(tree, file_source(preset="ranked_siblings"))
    assert isinstance(outcome, Skip) and outcome.reason == "missing_field"


def test_tree_keeps_good_groups_when_one_group_is_bad():
    bad_group = {"text": "sub", "replies": [{"text": "same", "rank": 0}, {"text": "same", "rank": 1}]}
    replies = [{"text": "x", "rank": 1, "replies": [bad_group]}, {"text": "y", "rank": 0}]
    (record,) = map_row({"prompt": {"text": "hi", "replies": replies}}, file_source(preset="ranked_siblings"))
    assert record.responses == ["y", "x"]


def test_source_needs_a_preset_or_a_complete_mapping():
    with pytest.raises(ValueError, match="choose a preset"):
        file_source()
    with pytest.raises(ValueError, match="missing rejected"):
        file_source(fields=FieldMapping(prompt="p", chosen="c"))
    with pytest.raises(ValueError, match="missing prompt"):
        HubSource(kind="hub", dataset="d", fields=FieldMapping(chosen="c", rejected="r"))
    assert HubSource(kind="hub", dataset="d", preset="chosen_rejected").mapping().transcripts


def test_unknown_preset_lists_the_presets():
    text = "name: x\ndata: {kind: file, path: a.json, preset: oasst}\nmethod: {method: dpo}\n"
    with pytest.raises(RecipeError) as caught:
        parse_recipe(text)
    (problem,) = caught.value.problems
    assert problem.path == "data.preset" and "ranked_siblings" in problem.message


def test_responses_list_needs_two_columns():
    with pytest.raises(ValueError, match="at least two columns"):
        FieldMapping(prompt="p", responses=["only"], label="l")
