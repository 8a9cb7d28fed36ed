"""Training throughput of every registered method relative to DPO, on the same records and settings.

Each method trains one epoch over the same records (same model, LoRA, batch size, lengths, learning
rate, seed, precision, threads), each in its own subprocess, methods interleaved per round.

Data (`--data`):
- `usr` (default): the first `--contexts` lines of examples/data/usr-topicalchat.train.jsonl, one
  dialogue context with 5-6 replies each, every reply scored on five attributes. All methods read them
  with the same `data.fields` (the five scores and scales of examples/pro.yaml): the pipeline turns each
  context into the pairs whose equal-weight mean score (on [0, 1]) differs by >= 0.1; DPO and SPO train
  on those pairs, ranking on the contexts as ranked lists (same mean), PRO on its own prompt-weighted
  pairs, RPS on direction-conditioned SFT rows (its training stage). Every method runs here.
- `demo`: the first `--pairs` pairs of examples/data/demo-pairs.train.jsonl; only pair methods (dpo, spo)
  can train on it, the others are reported as skipped.

Timed per method:
- `prep`: the method's `training_data` (e.g. SPO's selector pass and variants, PRO's prompt encoder,
  preference adapter and extra reference pass, RPS's MiniLM selection reward model), before the
  trainer starts;
- `reference`: the pipeline's adapter-off pass over the training pairs, for methods that need it;
- `train`: `trainer.train()` only. Unit: DPO-equivalent pairs/s = (pairs DPO trains on from these
  records) x epochs / train seconds, so every method is credited with the same work, and vs DPO =
  DPO train s / method train s. The method's own count (pairs, lists or SFT rows) is shown beside it.
A method needs a recipe block in METHOD_SETUPS; one without is tried as `{method: NAME}`, and a method
that fails is reported as skipped with its error, not hidden.

    PYTHONPATH=. .venv/bin/python bench/method_throughput.py --model tiny --data usr --contexts 4
    PYTHONPATH=. .venv/bin/python bench/method_throughput.py --data demo --methods dpo spo --pairs 16
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a file, without PYTHONPATH
    sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, versions  # noqa: E402
from bench.train_throughput import _SilentProgress  # noqa: E402

RESULT_PREFIX = "BENCH_RESULT "
DEMO_TRAIN = ROOT / "examples/data/demo-pairs.train.jsonl"
DEMO_HELDOUT = ROOT / "examples/data/demo-pairs.heldout.jsonl"
USR_TRAIN = ROOT / "examples/data/usr-topicalchat.train.jsonl"
USR_HELDOUT = ROOT / "examples/data/usr-topicalchat.heldout.jsonl"
HELDOUT_LINES = 4  # the pipeline needs held-out pairs to tokenize; they are not part of any timing
# The five attribute scores and their scales, as examples/pro.yaml (and rps.yaml) read the USR file.
USR_SCALES = {"understandability": [0, 1], "naturalness": [1, 3], "coherence": [1, 3],
              "engagingness": [1, 3], "groundedness": [0, 1]}  # fmt: skip
USR_FIELDS = {"prompt": "prompt", "responses": "responses",
              "scores": {name: name for name in USR_SCALES}, "score_scales": USR_SCALES}  # fmt: skip
# The method block each method trains with, per data mode.
METHOD_SETUPS: dict[str, dict[str, dict]] = {
    "demo": {
        "dpo": {"method": "dpo", "beta": 0.1, "loss": "sigmoid"},
        "spo": {"method": "spo", "beta": 0.1, "units": 3, "ssl_weight": 0.1},
    },
    "usr": {
        "dpo": {"method": "dpo", "beta": 0.1, "loss": "sigmoid"},
        # examples/spo.yaml's block
        "spo": {"method": "spo", "beta": 0.1, "loss": "sigmoid", "units": 3, "ssl_weight": 0.1,
                "selector": "base_contribution", "head_learning_rate": 0.0001, "degrade_rejected": False},
        # examples/ranking.yaml's block (its lists ordered by the shared five-score mean, not `overall`)
        "ranking": {"method": "ranking", "sft_weight": 0.005, "score_gaps": "scores", "max_responses": 6},
        # examples/pro.yaml's block
        "pro": {"method": "pro", "beta": 0.1, "normalization": "zscore", "temperature": 1.0,
                "prompt_encoder": "minilm", "min_gap": 0.1, "pair_weighting": "strength"},
        # examples/rps.yaml's block with the fewest training directions (1 per context) and the
        # smallest judge share (1 context set aside below 15 contexts); eval_* only matter for its
        # report, which this bench does not run.
        "rps": {"method": "rps", "objectives": ["engagingness", "groundedness"], "k": 5,
                "max_angle_deg": 30, "coverage_min_deg": -30, "coverage_max_deg": 30,
                "training": "conditioned_sft", "directions_per_prompt": 1, "judge_fraction": 0.1,
                "eval_directions_deg": [20, 40, 45], "eval_prompts": 15, "max_new_tokens": 40},
    },
}  # fmt: skip
# What each method's `training_data` yields per row, and what its prep does (shown in the table).
NATIVE_UNITS = {"dpo": "pairs", "spo": "pairs", "ranking": "lists", "pro": "weighted pairs",
                "rps": "SFT rows"}  # fmt: skip
PREP_NOTES = {
    "spo": "selector pass + variants",
    "ranking": "list building",
    "pro": "MiniLM prompts + pref. adapter + ref. pass of new pairs",
    "rps": "MiniLM selection reward fit; no text generated",
}


def _max_prompt_length(args: argparse.Namespace) -> int:
    if args.max_prompt_length:
        return args.max_prompt_length
    # usr: the examples' 160 of 256 (the contexts are long, the replies short); demo: half
    return args.max_length * 5 // 8 if args.data == "usr" else args.max_length // 2


def recipe_dict(method: str, args: argparse.Namespace, model_path: str, train: Path, heldout: Path) -> dict:
    block = METHOD_SETUPS[args.data].get(method, {"method": method})
    data = {"kind": "file", "path": str(train), "heldout_path": str(heldout)}
    data |= {"fields": USR_FIELDS} if args.data == "usr" else {"preset": "prompt_chosen_rejected"}
    return {
        "name": f"bench-{method}",
        "model": {"name_or_path": model_path, "lora": {"r": 16, "alpha": 32, "dropout": 0.0}},
        "data": data,
        "method": block,
        "training": {"epochs": 1, "learning_rate": 2e-4, "batch_size": args.batch_size, "seed": 0,
                     "max_length": args.max_length, "max_prompt_length": _max_prompt_length(args),
                     "logging_steps": 100000, "precision": args.precision},
        "evaluation": {"metrics": ["ranking_accuracy"]},
    }  # fmt: skip


def child_main(args: argparse.Namespace) -> None:
    import torch

    from recipes.io import parse_recipe
    from workers.data import load_and_split
    from workers.pipelines import train as pipeline
    from workers.precision import device, training_precision
    from workers.scoring import score_pairs

    torch.set_num_threads(args.threads)
    recipe = parse_recipe(
        json.dumps(recipe_dict(args.child, args, args.model_path, Path(args.train), Path(args.heldout)))
    )
    dev = device()
    torch.manual_seed(0)
    split = load_and_split(recipe.data, recipe.training.heldout_fraction, 0)
    _, tokenizer, model = pipeline._load_model(recipe, dev)
    train, _, _ = pipeline._tokenize(recipe, tokenizer, split)
    precision = training_precision(recipe.training.precision, dev)
    reference_seconds = None
    ref = torch.zeros(len(train.pairs), 2)  # what the pipeline passes a method without a reference
    if pipeline._needs_training_pass(recipe):
        started = time.perf_counter()
        ref, _ = score_pairs(model, train.pairs, pad_id=tokenizer.pad_token_id, precision=precision,
                             adapter_disabled=True)  # fmt: skip
        reference_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-method-") as out, timed_training_data(pipeline) as prep:
        _, stats, _, _ = pipeline._train(
            recipe, model, tokenizer, train, ref, Path(out), precision, dev, _SilentProgress(), split
        )
    result = {"method": args.child, "contexts": len(split.records_of(split.train)),
              "pipeline_pairs": len(train.pairs), "native_rows": prep["rows"],
              "native_unit": NATIVE_UNITS.get(args.child, "rows"), "native_note": prep["note"],
              "steps": stats["steps"], "epochs": stats["epochs"], "train_seconds": stats["train_seconds"],
              "prep_seconds": sum(prep["seconds"]), "reference_seconds": reference_seconds,
              "precision": precision,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _native_note(runner, inputs) -> str:
    """Where a method trains on fewer contexts than it was given (RPS sets its judge's prompts aside)."""
    judge = getattr(runner, "judge_records", None)
    if not judge:
        return ""
    given = len(inputs.split.records_of(inputs.kept_sources()))
    return f"from {given - len(judge)} of {given} contexts; {len(judge)} fit its judge"


@contextlib.contextmanager
def timed_training_data(pipeline) -> Iterator[dict]:
    """Swaps the pipeline's RUNNERS for subclasses that time `training_data` (the method's own prep)
    and count the rows it yields."""
    seen: dict = {"seconds": [], "rows": None, "note": ""}

    def timed(cls):
        class Timed(cls):
            def training_data(self, inputs):
                started = time.perf_counter()
                try:
                    dataset, collator = super().training_data(inputs)
                finally:
                    seen["seconds"].append(time.perf_counter() - started)
                seen["rows"] = None if dataset is None else len(dataset)
                seen["note"] = _native_note(self, inputs)
                return dataset, collator

        return Timed

    original = pipeline.RUNNERS
    pipeline.RUNNERS = {name: timed(cls) for name, cls in original.items()}
    try:
        yield seen
    finally:
        pipeline.RUNNERS = original


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TQDM_DISABLE": "1",
            "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip
    return env


def run_child(method: str, args: argparse.Namespace, model_path: str, train: Path, heldout: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", method, "--model-path", model_path,
           "--train", str(train), "--heldout", str(heldout), "--data", args.data,
           "--batch-size", str(args.batch_size), "--max-length", str(args.max_length),
           "--max-prompt-length", str(_max_prompt_length(args)), "--precision", args.precision,
           "--threads", str(args.threads)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(args.threads), capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"method": method, "skipped": f"exit {proc.returncode}: {last[:300]}"}


def _prepare(args: argparse.Namespace, workdir: Path) -> tuple[str, Path, Path, dict]:
    """(model path, training file, held-out file, what the data is) for every method alike."""
    from workers import modeling, tiny_llama

    if args.model == "tiny":
        model_path = str(tiny_llama.build_tiny_llama(workdir / "tiny-llama"))
    else:
        model_path = str(Path(modeling.resolve_model(modeling.BUILTIN_ALIAS)).resolve())
    usr = args.data == "usr"
    source, heldout_source = (USR_TRAIN, USR_HELDOUT) if usr else (DEMO_TRAIN, DEMO_HELDOUT)
    count = args.contexts if usr else args.pairs
    lines = source.read_text().splitlines(keepends=True)[:count]
    train, heldout = workdir / "train.jsonl", workdir / "heldout.jsonl"
    train.write_text("".join(lines))
    heldout.write_text("".join(heldout_source.read_text().splitlines(keepends=True)[:HELDOUT_LINES]))
    sizes = [len(json.loads(line)["responses"]) for line in lines] if usr else []
    return model_path, train, heldout, {"lines": len(lines), "responses": sizes}


def _median(values) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summary(results: list[dict], methods: list[str]) -> list[dict]:
    rows = []
    dpo = [r for r in results if r["method"] == "dpo" and "skipped" not in r]
    dpo_seconds = _median(r["train_seconds"] for r in dpo)
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        done = [r for r in runs if "skipped" not in r]
        if not done:
            rows.append({"method": method, "skipped": runs[-1]["skipped"] if runs else "not run"})
            continue
        first = done[0]
        # the pairs DPO trains on from these records (every method's pipeline derives the same ones)
        dpo_pairs = dpo[0]["pipeline_pairs"] if dpo else first["pipeline_pairs"]
        seconds = _median(r["train_seconds"] for r in done)
        rows.append({
            "method": method, "runs": len(done), "contexts": first["contexts"], "dpo_pairs": dpo_pairs,
            "native_rows": first["native_rows"], "native_unit": first["native_unit"],
            "native_note": first.get("native_note", ""), "steps": first["steps"], "epochs": first["epochs"],
            "train_seconds": seconds,
            "dpo_equivalent_pairs_per_second": dpo_pairs * first["epochs"] / seconds if seconds else None,
            "vs_dpo": dpo_seconds / seconds if dpo_seconds and seconds else None,
            "prep_seconds": _median(r["prep_seconds"] for r in done),
            "reference_seconds": _median(r["reference_seconds"] for r in done),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in done),
        })  # fmt: skip
    return rows


def command_line(args: argparse.Namespace) -> str:
    size = f"--contexts {args.contexts}" if args.data == "usr" else f"--pairs {args.pairs}"
    return (
        f"PYTHONPATH=. .venv/bin/python bench/method_throughput.py --model {args.model} --data {args.data} "
        f"{size} --methods {' '.join(args.methods)} --batch-size {args.batch_size} --max-length "
        f"{args.max_length} --max-prompt-length {_max_prompt_length(args)} --precision {args.precision} "
        f"--threads {args.threads} --repeats {args.repeats}"
    )


def _data_lines(args: argparse.Namespace, data: dict, rows: list[dict]) -> list[str]:
    pairs = next((r["dpo_pairs"] for r in rows if "dpo_pairs" in r), None)
    if args.data == "demo":
        return [
            f"- Data: the first {data['lines']} pairs of examples/data/demo-pairs.train.jsonl "
            f"({pairs} after tokenization); held-out: the first {HELDOUT_LINES} of demo-pairs.heldout.jsonl",
        ]
    sizes = data["responses"]
    scales = ", ".join(f"{name} {lo}-{hi}" for name, (lo, hi) in USR_SCALES.items())
    return [
        f"- Data: the first {data['lines']} dialogue contexts of examples/data/usr-topicalchat.train.jsonl, "
        f"{min(sizes)}-{max(sizes)} responses per context ({sum(sizes)} responses); held-out: the first "
        f"{HELDOUT_LINES} contexts of usr-topicalchat.heldout.jsonl (tokenized, never timed)",
        f"- Pairs: every method reads the same `data.fields` as examples/pro.yaml (five human attribute "
        f"scores mapped to [0, 1]: {scales}); the pipeline (`recipes.preference_data.pairs_from_scores`) "
        f"makes each response's equal-weight mean of the five and pairs every two responses of a context "
        f"whose means differ by >= 0.1 (the higher one chosen): {pairs} pairs. DPO and SPO train on "
        f"exactly these; ranking on each context as one ranked list of up to 6 by the same mean "
        f"(score_gaps: scores); PRO re-pairs the responses by its per-prompt weighted scores; RPS trains "
        f"its conditioned SFT stage (1 direction per context, best reply along it; its judge's contexts "
        f"set aside)",
    ]


def markdown(rows: list[dict], args: argparse.Namespace, precision: str, data: dict, load: tuple) -> str:
    before, after = (", ".join(f"{v:.2f}" for v in avg) for avg in load)
    lines = [
        "## Training throughput per method (relative to DPO)",
        "",
        f"- Command: `{command_line(args)}`",
        f"- Date: {time.strftime('%Y-%m-%d')}; CPU: {cpu_model()}; torch threads {args.threads}; {precision}",
        f"- Versions: {versions(('torch', 'transformers', 'peft'))}",
        *_data_lines(args, data, rows),
        f"- Settings: one epoch, LoRA r 16, batch size {args.batch_size}, max_length {args.max_length}, "
        f"max_prompt_length {_max_prompt_length(args)}; each method in its own process, methods "
        f"interleaved, median of {args.repeats} round(s)",
        "- Unit: every method consumes the same records for one epoch, so the work is counted as DPO's: "
        "DPO-equivalent pairs/s = (pairs DPO trains on from these records) × epochs / the method's "
        "train s, and vs DPO = DPO train s / method train s (> 1: faster than DPO). `trained on` is the "
        "method's own count of training rows (its steps = rows / batch size). `train s` is "
        "`trainer.train()` only; `prep s` is the method's `training_data` before it; `reference s` is "
        "the adapter-off pass over the training pairs, run only for methods whose loss needs it",
        f"- Wall times depend on machine load: load average (1, 5, 15 min) {before} before, {after} after",
        "",
        "| method | trained on | steps | train s | DPO-equiv. pairs/s | vs DPO | prep s (method's own) "
        "| reference s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['method']} | skipped: {r['skipped']} | | | | | | | |")
            continue
        lines.append(f"| {r['method']} | " + " | ".join(_cells(r)) + " |")
    return "\n".join(lines) + "\n"


def _cells(r: dict) -> list[str]:
    native = f"{r['native_rows']} {r['native_unit']}" + (f" ({r['native_note']})" if r["native_note"] else "")
    note = PREP_NOTES.get(r["method"])
    speed, ratio, reference = r["dpo_equivalent_pairs_per_second"], r["vs_dpo"], r["reference_seconds"]
    return [
        native,
        str(r["steps"]),
        f"{r['train_seconds']:.1f}",
        f"{speed:.2f}" if speed else "-",
        f"{ratio:.2f}×" if ratio else "-",
        f"{r['prep_seconds']:.1f}" + (f" ({note})" if note else ""),
        f"{reference:.1f}" if reference is not None else "not needed",
        f"{r['peak_rss_mb']:.0f}",
    ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--data", choices=["usr", "demo"], default="usr")
    parser.add_argument("--methods", nargs="+", default=None, help="default: every registered method")
    parser.add_argument("--contexts", type=int, default=8, help="usr: dialogue contexts (lines) to train on")
    parser.add_argument("--pairs", type=int, default=16, help="demo: pairs (lines) to train on")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--max-prompt-length", type=int, default=None,
                        help="default: 5/8 of max-length for usr (160 of 256 as in the examples), "
                        "half of it for demo")  # fmt: skip
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, help="append the table to this Markdown file")
    parser.add_argument("--child"), parser.add_argument("--model-path"), parser.add_argument("--train")
    parser.add_argument("--heldout")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> tuple[list[dict], str]:
    """Runs every method as its own process; (summary rows, Markdown text)."""
    from recipes.methods import METHOD_SPECS

    args.methods = args.methods or sorted(METHOD_SPECS)
    order = ["dpo"] + [m for m in args.methods if m != "dpo"]  # the ratio needs DPO
    args.methods = order
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench-methods-") as tmp:
        model_path, train, heldout, data = _prepare(args, Path(tmp))
        results = []
        for round_ in range(1, args.repeats + 1):
            for method in order:  # interleaved, so load from other jobs hits every method alike
                result = run_child(method, args, model_path, train, heldout)
                print(f"round {round_} {method}: {result}", file=sys.stderr, flush=True)
                results.append(result)
    load_after = os.getloadavg()
    precision = next((r["precision"] for r in results if "precision" in r), args.precision)
    rows = summary(results, order)
    return rows, markdown(rows, args, precision, data, (load_before, load_after))


def main() -> None:
    args = parse_args()
    if args.child:
        return child_main(args)
    _, text = run(args)
    print(text)
    if args.out:
        with args.out.open("a") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
