"""Build the demo preference pairs in examples/data/ from the real data in ../shared/data.

Run from the project root (needs the worker extra; converts the built-in SmolLM2 on first use):

    PYTHONPATH=. .venv/bin/python scripts/make_demo_data.py [--shared ../shared/data] [--out examples/data]

Same inputs give byte-identical outputs. Steps:
1. Read PandaLM's human test set (keep pairs where all 3 annotators agree and it is not a tie) and
   LLMBar Natural (label 1|2). Labels are used as published; texts lose surrounding whitespace only.
2. Drop rows whose responses are not text, empty, or identical (whitespace-normalized).
3. Keep pairs that are short for SmolLM2-135M-Instruct with its chat template (default system
   prompt included): prompt <= 128 tokens and prompt + response <= 256 tokens for both responses.
4. Group pairs sharing a prompt or any response (union-find on whitespace-normalized text) and put
   whole groups on one side: about 240 held-out pairs, stratified by source, fixed seed, groups of
   more than 10 pairs always in training; the rest train.
5. Write the two splits, NOTICE.md, and the small bad-input files; print the statistics.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SEED = 0
HELDOUT_TARGET = 240
# A group larger than this stays in training: its pairs are not independent samples, and the one such
# group in this data (49 pairs glued together by the placeholder responses "<nooutput>"/"<noinput>")
# would otherwise put a single trivially easy pattern into an eighth of the held-out metric.
MAX_HELDOUT_GROUP = 10
MAX_PROMPT_TOKENS = 128
MAX_SEQUENCE_TOKENS = 256
PANDALM_FILE = Path("pandalm-testset/testset-v1.json")
LLMBAR_FILE = Path("llmbar/LLMBar_Natural.json")
TRAIN_FILE, HELDOUT_FILE = "demo-pairs.train.jsonl", "demo-pairs.heldout.jsonl"

Pair = dict[str, Any]  # prompt, chosen, rejected, source, source_id


# --- reading -------------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split())


def _make_pair(prompt: Any, better: Any, worse: Any, source: str, source_id: int) -> Pair | str:
    """The pair, or the reason it is dropped."""
    if not all(isinstance(text, str) for text in (prompt, better, worse)):
        return "non_text_field"  # PandaLM stores a few responses as JSON `true`; we don't guess the text
    if not (prompt.strip() and better.strip() and worse.strip()):
        return "empty_text"
    if _norm(better) == _norm(worse):
        return "identical_responses"
    return {
        "prompt": prompt.strip(),
        "chosen": better.strip(),
        "rejected": worse.strip(),
        "source": source,
        "source_id": source_id,
    }


def read_pandalm(path: Path) -> tuple[list[Pair], Counter]:
    pairs, dropped = [], Counter()
    for row in json.loads(path.read_text(encoding="utf-8")):
        votes = {row["annotator1"], row["annotator2"], row["annotator3"]}
        if len(votes) != 1 or votes == {0}:
            dropped["not_unanimous_or_tie"] += 1
            continue
        prompt = row["instruction"] + ("\n\n" + row["input"] if row["input"] else "")
        responses = (row["response1"], row["response2"])
        better, worse = responses if votes == {1} else responses[::-1]
        pair = _make_pair(prompt, better, worse, "pandalm", row["idx"])
        _collect(pair, pairs, dropped)
    return pairs, dropped


def read_llmbar(path: Path) -> tuple[list[Pair], Counter]:
    pairs, dropped = [], Counter()
    for index, row in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        if row["label"] not in (1, 2):
            dropped["bad_label"] += 1
            continue
        outputs = (row["output_1"], row["output_2"])
        better, worse = outputs if row["label"] == 1 else outputs[::-1]
        _collect(_make_pair(row["input"], better, worse, "llmbar-natural", index), pairs, dropped)
    return pairs, dropped


def _collect(pair: Pair | str, pairs: list[Pair], dropped: Counter) -> None:
    if isinstance(pair, str):
        dropped[pair] += 1
    else:
        pairs.append(pair)


# --- lengths -------------------------------------------------------------------------------------


def smollm2_tokenizer() -> Any:
    from workers.modeling import load_tokenizer, resolve_model

    return load_tokenizer(resolve_model("smollm2-135m-instruct"))


def _n_tokens(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> int:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=generation_prompt, tokenize=True)
    return len(ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids)


def add_token_lengths(tokenizer: Any, pairs: list[Pair]) -> None:
    """Store prompt/response token counts on each pair as '_prompt', '_chosen', '_rejected'."""
    for pair in pairs:
        user = [{"role": "user", "content": pair["prompt"]}]
        pair["_prompt"] = _n_tokens(tokenizer, user, generation_prompt=True)
        for side in ("chosen", "rejected"):
            full = _n_tokens(tokenizer, [*user, {"role": "assistant", "content": pair[side]}], False)
            pair[f"_{side}"] = full - pair["_prompt"]  # response + <|im_end|> + newline


def is_short(pair: Pair) -> bool:
    longest = pair["_prompt"] + max(pair["_chosen"], pair["_rejected"])
    return pair["_prompt"] <= MAX_PROMPT_TOKENS and longest <= MAX_SEQUENCE_TOKENS


# --- prompt- and response-disjoint split ---------------------------------------------------------


def group_ids(pairs: list[Pair]) -> list[int]:
    """Union-find: pairs sharing a prompt or any response text land in the same group."""
    parent: dict[Any, Any] = {}

    def find(node: Any) -> Any:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for index, pair in enumerate(pairs):
        for key in (
            ("p", _norm(pair["prompt"])),
            ("r", _norm(pair["chosen"])),
            ("r", _norm(pair["rejected"])),
        ):
            parent[find(("pair", index))] = find(key)
    roots = [find(("pair", index)) for index in range(len(pairs))]
    numbering: dict[Any, int] = {}
    return [numbering.setdefault(root, len(numbering)) for root in roots]


def split_pairs(pairs: list[Pair], target: int, seed: int) -> tuple[list[Pair], list[Pair]]:
    """Whole groups to held-out until each source has its share of `target`; the rest train."""
    groups: dict[int, list[Pair]] = defaultdict(list)
    for group, pair in zip(group_ids(pairs), pairs, strict=True):
        groups[group].append(pair)
    by_source: dict[str, list[list[Pair]]] = defaultdict(list)
    for members in groups.values():  # insertion order = input order, so this is deterministic
        by_source[members[0]["source"]].append(members)
    rng, heldout, train = random.Random(seed), [], []
    for source in sorted(by_source):
        share = round(target * sum(map(len, by_source[source])) / len(pairs))
        shuffled = by_source[source][:]
        rng.shuffle(shuffled)
        taken = 0
        for members in shuffled:
            fits = taken + len(members) <= share and len(members) <= MAX_HELDOUT_GROUP
            side = heldout if fits else train
            taken += len(members) if side is heldout else 0
            side.extend(members)
    return _sorted(train), _sorted(heldout)


def _sorted(pairs: list[Pair]) -> list[Pair]:
    return sorted(pairs, key=lambda pair: (pair["source"], pair["source_id"]))


def leaks(train: list[Pair], heldout: list[Pair]) -> int:
    """Held-out pairs whose prompt or any response also occurs in training (must be 0)."""
    seen = {_norm(p["prompt"]) for p in train} | {_norm(p[s]) for p in train for s in ("chosen", "rejected")}
    return sum(any(_norm(p[k]) in seen for k in ("prompt", "chosen", "rejected")) for p in heldout)


# --- statistics ----------------------------------------------------------------------------------


def split_stats(pairs: list[Pair]) -> dict[str, Any]:
    n = len(pairs)
    return {
        "pairs": n,
        "by_source": dict(sorted(Counter(p["source"] for p in pairs).items())),
        "mean_prompt_tokens": round(sum(p["_prompt"] for p in pairs) / n, 1),
        "mean_chosen_tokens": round(sum(p["_chosen"] for p in pairs) / n, 1),
        "mean_rejected_tokens": round(sum(p["_rejected"] for p in pairs) / n, 1),
        "chosen_longer_share": round(sum(p["_chosen"] > p["_rejected"] for p in pairs) / n, 3),
        "same_length_share": round(sum(p["_chosen"] == p["_rejected"] for p in pairs) / n, 3),
    }


# --- writing -------------------------------------------------------------------------------------

PUBLIC_FIELDS = ("prompt", "chosen", "rejected", "source", "source_id")


def _json_line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def write_jsonl(path: Path, pairs: Iterable[Pair]) -> None:
    path.write_text("".join(_json_line({k: p[k] for k in PUBLIC_FIELDS}) for p in pairs), encoding="utf-8")


def bad_rows(train: list[Pair]) -> tuple[bytes, list[str]]:
    """10 good rows with 5 bad lines in the middle; returns the bytes and a per-line description."""
    good = [{k: p[k] for k in PUBLIC_FIELDS} for p in train[:10]]
    base = dict(good[0])
    bad: list[tuple[bytes, str]] = [
        (_json_line({k: v for k, v in base.items() if k != "rejected"}).encode(), "missing `rejected`"),
        (_json_line({**base, "chosen": ""}).encode(), "empty `chosen`"),
        (_json_line({**base, "rejected": base["chosen"]}).encode(), "`chosen` == `rejected`"),
        (b'{"prompt": "caf\xe9?", "chosen": "yes", "rejected": "no"}\n', "invalid UTF-8 (a latin-1 byte)"),
        (b'{"prompt": "Broken line", "chosen": "yes", "rejected": \n', "broken JSON"),
    ]
    lines = [(_json_line(row).encode(), "good") for row in good[:5]] + bad
    lines += [(_json_line(row).encode(), "good") for row in good[5:]]
    return b"".join(line for line, _ in lines), [why for _, why in lines]


def no_usable_rows() -> str:
    rows = [
        {"prompt": "Name a colour.", "chosen": "Blue."},
        {"prompt": "Name a fruit.", "chosen": "   ", "rejected": "Apple."},
        {"prompt": "Name a planet.", "chosen": "Mars.", "rejected": "Mars."},
    ]
    return "".join(_json_line(row) for row in rows)


def _source_lines(shared: Path, folder: str, file_name: str) -> list[str]:
    """repo/commit/license lines plus the path line for `file_name`, copied from SOURCE.txt."""
    lines = (shared / folder / "SOURCE.txt").read_text(encoding="utf-8").splitlines()
    keep = [ln for ln in lines if ln.startswith(("repo:", "commit:", "license:"))]
    return keep + [ln for ln in lines if ln.startswith("path:") and f"-> {file_name}" in ln]


def notice_text(shared: Path, stats: dict[str, Any], bad_layout: list[str]) -> str:
    pandalm = "\n".join(f"    {ln}" for ln in _source_lines(shared, "pandalm-testset", PANDALM_FILE.name))
    llmbar = "\n".join(f"    {ln}" for ln in _source_lines(shared, "llmbar", LLMBAR_FILE.name))
    layout = "\n".join(f"{i}. {why}" for i, why in enumerate(bad_layout, start=1))
    return NOTICE_TEMPLATE.format(
        pandalm=pandalm,
        llmbar=llmbar,
        layout=layout,
        stats=json.dumps(stats, indent=2),
        max_prompt=MAX_PROMPT_TOKENS,
        max_seq=MAX_SEQUENCE_TOKENS,
        target=HELDOUT_TARGET,
        seed=SEED,
        max_group=MAX_HELDOUT_GROUP,
    )


NOTICE_TEMPLATE = """\
# Demo data: where it comes from

Generated by `scripts/make_demo_data.py` (deterministic; rerun it to rebuild). Nobody on this
project wrote these preference labels.

## Sources

`source: "pandalm"` rows: the PandaLM human-annotated test set, Apache-2.0.

{pandalm}

`source: "llmbar-natural"` rows: LLMBar Natural, MIT.

{llmbar}

`source_id` is PandaLM's `idx`, or the 0-based position of the row in LLMBar_Natural.json.

## What was changed

- Labels are unchanged. PandaLM: only pairs where all three annotators agree and the verdict is not a
  tie (annotator value 1 or 2 = the better response); LLMBar: `label` 1 or 2. The better response is
  `chosen`.
- PandaLM prompt = `instruction`, plus a blank line and `input` when `input` is non-empty.
- Texts lose leading/trailing whitespace only. Dropped: rows with a non-text response (PandaLM
  stores a few as JSON `true`), an empty response, or two identical responses.
- Kept only pairs that are short for SmolLM2-135M-Instruct with its chat template (default system
  prompt included): prompt <= {max_prompt} tokens, prompt + each response <= {max_seq} tokens.

## How the split was made

Pairs that share a prompt or any response text (whitespace-normalized) are joined with union-find;
each group goes to one side as a whole, so the held-out file is prompt- and response-disjoint from
training. Groups are shuffled with seed {seed} per source and taken into held-out until each source
has its share of {target} pairs; groups of more than {max_group} pairs always stay in training (the
only one, 49 pairs before length filtering, is held together by the placeholder responses
`<nooutput>`/`<noinput>` and would put one trivially easy pattern into the held-out metric).
Everything else is training data.

```
{stats}
```

Token counts use the SmolLM2 tokenizer; response tokens include the closing `<|im_end|>` and newline.

## Bad-input files (for tests)

`bad-rows.jsonl`, line by line ("good" rows are copies of training rows):

{layout}

`no-usable-rows.jsonl`: three valid JSON rows, none usable: 1. missing `rejected`,
2. blank `chosen`, 3. `chosen` == `rejected`.
"""


# --- main ----------------------------------------------------------------------------------------


def _counts(counter: Counter) -> dict[str, int]:
    return dict(sorted(counter.items()))


def build(shared: Path, out: Path) -> dict[str, Any]:
    pandalm, dropped_p = read_pandalm(shared / PANDALM_FILE)
    llmbar, dropped_l = read_llmbar(shared / LLMBAR_FILE)
    pairs = pandalm + llmbar
    add_token_lengths(smollm2_tokenizer(), pairs)
    short = [pair for pair in pairs if is_short(pair)]
    train, heldout = split_pairs(short, HELDOUT_TARGET, SEED)
    stats = {
        "usable_after_cleaning": {"pandalm": len(pandalm), "llmbar-natural": len(llmbar)},
        "dropped": {"pandalm": _counts(dropped_p), "llmbar-natural": _counts(dropped_l)},
        "dropped_too_long": len(pairs) - len(short),
        "heldout_pairs_sharing_text_with_train": leaks(train, heldout),
        "train": split_stats(train),
        "heldout": split_stats(heldout),
    }
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / TRAIN_FILE, train)
    write_jsonl(out / HELDOUT_FILE, heldout)
    bad_bytes, layout = bad_rows(train)
    (out / "bad-rows.jsonl").write_bytes(bad_bytes)
    (out / "no-usable-rows.jsonl").write_text(no_usable_rows(), encoding="utf-8")
    (out / "NOTICE.md").write_text(notice_text(shared, stats, layout), encoding="utf-8")
    return stats


def main() -> None:
    root = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=root.parent / "shared" / "data")
    parser.add_argument("--out", type=Path, default=root / "examples" / "data")
    args = parser.parse_args()
    stats = build(args.shared, args.out)
    if stats["heldout_pairs_sharing_text_with_train"] or stats["heldout"]["pairs"] < 200:
        raise SystemExit(f"split check failed: {json.dumps(stats)}")
    print(json.dumps(stats, indent=2))


if __name__ == "__main__":
    main()
