"""Training throughput of every registered method relative to DPO, on the same pairs and settings.

Each method trains one epoch over the same first N demo pairs (same model, LoRA, batch size, lengths,
learning rate, seed, precision, threads), each in its own subprocess, methods interleaved per round.
Timed per method:
- `prep`: the method's `training_data` (e.g. SPO's selector pass and variant building), before the
  trainer starts; the shared reference pass is timed apart and is the same for every method;
- `train`: `trainer.train()` only, the per-step cost; pairs/s = pairs × epochs / train seconds.
A method needs a recipe block here when its defaults do not train on plain pairs (METHOD_SETUPS);
otherwise `{method: NAME}` is tried and a failure is reported as skipped, not hidden.

    PYTHONPATH=. .venv/bin/python bench/method_throughput.py --methods dpo spo --pairs 16 --batch-size 4
    PYTHONPATH=. .venv/bin/python bench/method_throughput.py --model tiny --methods dpo spo
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

RESULT_PREFIX = "BENCH_RESULT "
DEMO_TRAIN = ROOT / "examples/data/demo-pairs.train.jsonl"
DEMO_HELDOUT = ROOT / "examples/data/demo-pairs.heldout.jsonl"
# The method block and data each method trains on; pairs data unless a method needs another shape.
METHOD_SETUPS: dict[str, dict] = {
    "dpo": {"method": {"method": "dpo", "beta": 0.1, "loss": "sigmoid"}},
    "spo": {"method": {"method": "spo", "beta": 0.1, "units": 3, "ssl_weight": 0.1}},
}


def _recipe_json(method: str, args: argparse.Namespace, model_path: str, train: Path, heldout: Path) -> str:
    setup = METHOD_SETUPS.get(method, {"method": {"method": method}})
    data = setup.get("data") or {"kind": "file", "path": str(train), "heldout_path": str(heldout),
                                 "preset": "prompt_chosen_rejected"}  # fmt: skip
    recipe = {
        "name": f"bench-{method}",
        "model": {"name_or_path": model_path, "lora": {"r": 16, "alpha": 32, "dropout": 0.0}},
        "data": data,
        "method": setup["method"],
        "training": {"epochs": 1, "learning_rate": 2e-4, "batch_size": args.batch_size, "seed": 0,
                     "max_length": args.max_length, "max_prompt_length": args.max_length // 2,
                     "logging_steps": 100000, "precision": args.precision},
        "evaluation": {"metrics": ["ranking_accuracy"]},
    }  # fmt: skip
    return json.dumps(recipe)


class _Silent:
    def message(self, text: str) -> None:
        pass

    def on_log(self, step, max_steps, loss, metrics) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def child_main(args: argparse.Namespace) -> None:
    import torch

    from recipes.io import parse_recipe
    from workers.data import load_and_split
    from workers.pipelines import train as pipeline
    from workers.precision import device, training_precision
    from workers.scoring import score_pairs

    torch.set_num_threads(args.threads)
    recipe = parse_recipe(
        _recipe_json(args.child, args, args.model_path, Path(args.train), Path(args.heldout))
    )
    dev = device()
    torch.manual_seed(0)
    split = load_and_split(recipe.data, recipe.training.heldout_fraction, 0)
    _, tokenizer, model = pipeline._load_model(recipe, dev)
    train, _, _ = pipeline._tokenize(recipe, tokenizer, split)
    precision = training_precision(recipe.training.precision, dev)
    started = time.perf_counter()
    ref, _ = score_pairs(model, train.pairs, pad_id=tokenizer.pad_token_id, precision=precision,
                         adapter_disabled=True)  # fmt: skip
    reference_seconds = time.perf_counter() - started
    with tempfile.TemporaryDirectory(prefix="bench-method-") as out, timed_training_data(pipeline) as prep:
        _, stats, _, _ = pipeline._train(
            recipe, model, tokenizer, train, ref, Path(out), precision, dev, _Silent(), split
        )
    result = {"method": args.child, "pairs": len(train.pairs), "steps": stats["steps"],
              "epochs": stats["epochs"], "train_seconds": stats["train_seconds"],
              "pairs_per_second": stats["pairs_per_second"], "tokens_per_second": stats["tokens_per_second"],
              "prep_seconds": sum(prep), "reference_seconds": reference_seconds, "precision": precision,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}  # fmt: skip
    print(RESULT_PREFIX + json.dumps(result), flush=True)


@contextlib.contextmanager
def timed_training_data(pipeline) -> Iterator[list[float]]:
    """Swaps the pipeline's RUNNERS for subclasses that time `training_data` (the method's own prep)."""
    seconds: list[float] = []

    def timed(cls):
        class Timed(cls):
            def training_data(self, inputs):
                started = time.perf_counter()
                try:
                    return super().training_data(inputs)
                finally:
                    seconds.append(time.perf_counter() - started)

        return Timed

    original = pipeline.RUNNERS
    pipeline.RUNNERS = {name: timed(cls) for name, cls in original.items()}
    try:
        yield seconds
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
           "--train", str(train), "--heldout", str(heldout), "--batch-size", str(args.batch_size),
           "--max-length", str(args.max_length), "--precision", args.precision,
           "--threads", str(args.threads)]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(args.threads), capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"method": method, "skipped": f"exit {proc.returncode}: {last[:300]}"}


def _prepare(args: argparse.Namespace, workdir: Path) -> tuple[str, Path, Path]:
    from workers import modeling, tiny_llama

    if args.model == "tiny":
        model_path = str(tiny_llama.build_tiny_llama(workdir / "tiny-llama"))
    else:
        model_path = str(Path(modeling.resolve_model(modeling.BUILTIN_ALIAS)).resolve())
    train, heldout = workdir / "train.jsonl", workdir / "heldout.jsonl"
    train.write_text("".join(DEMO_TRAIN.read_text().splitlines(keepends=True)[: args.pairs]))
    heldout.write_text("".join(DEMO_HELDOUT.read_text().splitlines(keepends=True)[:4]))
    return model_path, train, heldout


def _summary(results: list[dict], methods: list[str]) -> list[dict]:
    rows = []
    base = [r["pairs_per_second"] for r in results if r["method"] == "dpo" and "skipped" not in r]
    for method in methods:
        runs = [r for r in results if r["method"] == method]
        done = [r for r in runs if "skipped" not in r]
        if not done:
            rows.append({"method": method, "skipped": runs[-1]["skipped"] if runs else "not run"})
            continue
        speed = statistics.median(r["pairs_per_second"] for r in done)
        rows.append({
            "method": method, "runs": len(done), "pairs": done[0]["pairs"], "steps": done[0]["steps"],
            "pairs_per_second": speed, "vs_dpo": speed / statistics.median(base) if base else None,
            **{key: statistics.median(r[key] for r in done)
               for key in ("train_seconds", "prep_seconds", "reference_seconds")},
            "peak_rss_mb": max(r["peak_rss_mb"] for r in done),
        })  # fmt: skip
    return rows


def markdown(rows: list[dict], args: argparse.Namespace, precision: str) -> str:
    lines = [
        "## Training throughput per method (relative to DPO)",
        "",
        f"- Command: `PYTHONPATH=. .venv/bin/python bench/method_throughput.py --model {args.model} "
        f"--methods {' '.join(args.methods)} --pairs {args.pairs} --batch-size {args.batch_size} "
        f"--max-length {args.max_length} --precision {args.precision} --repeats {args.repeats}`",
        f"- Date: {time.strftime('%Y-%m-%d')}; CPU: {cpu_model()}; torch threads {args.threads}; {precision}",
        f"- Versions: {versions(('torch', 'transformers', 'peft'))}",
        f"- Data: the first {args.pairs} pairs of examples/data/demo-pairs.train.jsonl, max_length "
        f"{args.max_length}; one epoch; each method in its own process, median of {args.repeats} round(s)",
        "",
        "| method | pairs/s (train) | vs DPO | train s | prep s (method's own) | reference s | peak RSS MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['method']} | skipped: {r['skipped']} | | | | | |")
            continue
        ratio = f"{r['vs_dpo']:.2f}×" if r["vs_dpo"] else "-"
        seconds = [f"{r[key]:.1f}" for key in ("train_seconds", "prep_seconds", "reference_seconds")]
        cells = [f"{r['pairs_per_second']:.2f}", ratio, *seconds, f"{r['peak_rss_mb']:.0f}"]
        lines.append(f"| {r['method']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", choices=["smollm2", "tiny"], default="smollm2")
    parser.add_argument("--methods", nargs="+", default=None, help="default: every registered method")
    parser.add_argument("--pairs", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, help="append the table to this Markdown file")
    parser.add_argument("--child"), parser.add_argument("--model-path"), parser.add_argument("--train")
    parser.add_argument("--heldout")
    args = parser.parse_args()
    if args.child:
        return child_main(args)
    from recipes.methods import METHOD_SPECS

    args.methods = args.methods or sorted(METHOD_SPECS)
    order = ["dpo"] + [m for m in args.methods if m != "dpo"]  # the ratio needs DPO
    with tempfile.TemporaryDirectory(prefix="bench-methods-") as tmp:
        model_path, train, heldout = _prepare(args, Path(tmp))
        results = []
        for round_ in range(1, args.repeats + 1):
            for method in order:  # interleaved, so load from other jobs hits every method alike
                result = run_child(method, args, model_path, train, heldout)
                print(f"round {round_} {method}: {result}", file=sys.stderr, flush=True)
                results.append(result)
    precision = next((r["precision"] for r in results if "precision" in r), args.precision)
    text = markdown(_summary(results, order), args, precision)
    print(text)
    if args.out:
        with args.out.open("a") as handle:
            handle.write("\n" + text)


if __name__ == "__main__":
    main()
