"""Training throughput: our DPO trainer vs TRL's `DPOTrainer`, side by side on the same CPU.

Both trainers get the same base model, the same pairs, the same LoRA adapter, batch size, max_length,
learning rate, seed, precision and thread count, and train one epoch over the pairs. Each measurement
runs in its own subprocess (fresh allocator, honest peak RSS), alternating ours / TRL every round.

Timed span (everything between "base model loaded" and "epoch finished"):
- ours: tokenization + reference pass (`score_pairs`, adapter disabled) + trainer construction + train();
- TRL: `DPOTrainer(...)` (tokenizes and, with precompute_ref_log_probs=True, runs its reference pass
  with the adapter disabled) + train().

    PYTHONPATH=. .venv/bin/python bench/train_throughput.py --model tiny --repeats 3
    PYTHONPATH=. .venv/bin/python bench/train_throughput.py --model smollm2 --pairs 24 --repeats 2 \
        --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # `make bench` runs this file directly, without PYTHONPATH
    sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, versions  # noqa: E402

SECTION = "## Training throughput (DPO vs TRL)"
RESULT_PREFIX = "BENCH_RESULT "
DEMO_PAIRS = ROOT / "examples/data/demo-pairs.train.jsonl"
LLMBAR = ROOT.parent / "shared" / "data" / "llmbar" / "LLMBar_Natural.json"
TRAINERS = ("ours", "trl")
THREADS = 2
SEED = 0
LEARNING_RATE = 5e-5
BETA = 0.1
LORA = {"r": 16, "alpha": 32, "dropout": 0.05}
TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
MAX_PROMPT_LENGTH = 128  # ours only: TRL 1.16 has no prompt limit, it cuts prompt+response at max_length


@dataclass(frozen=True)
class Config:
    model: str
    pairs: int
    batch_size: int
    max_length: int
    precision: str
    threads: int = 2


# ---------------------------------------------------------------------------------------------------
# Data and model, prepared once in the parent so every child sees exactly the same inputs


def _llmbar_pairs() -> list[dict[str, str]]:
    rows = json.loads(LLMBAR.read_text())
    pairs = []
    for row in rows:
        better, worse = ("output_1", "output_2") if row["label"] == 1 else ("output_2", "output_1")
        pairs.append({"prompt": row["input"], "chosen": row[better], "rejected": row[worse]})
    return pairs


def load_pairs(n: int) -> tuple[list[dict[str, str]], str]:
    """The first n pairs of the demo training file, or of LLMBar Natural while that file is absent."""
    if DEMO_PAIRS.is_file():
        lines = DEMO_PAIRS.read_text().splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
        pairs = [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in rows]
        source = str(DEMO_PAIRS.relative_to(ROOT))
    else:
        pairs, source = _llmbar_pairs(), f"{LLMBAR} (label 1/2 = chosen)"
    if len(pairs) < n:
        raise SystemExit(f"only {len(pairs)} pairs in {source}, asked for {n}")
    return pairs[:n], source


def prepare_model(kind: str, workdir: Path) -> Path:
    from workers import modeling, tiny_llama

    if kind == "tiny":
        return tiny_llama.build_tiny_llama(workdir / "tiny-llama")
    return Path(modeling.resolve_model(modeling.BUILTIN_ALIAS)).resolve()  # GGUF converted once


# ---------------------------------------------------------------------------------------------------
# Child side: one trainer, one epoch, one JSON line on stdout


def _current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _cpu_seconds() -> float:
    # CPU time of this process: less sensitive than wall time to other jobs on a shared machine.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def _recipe_yaml(cfg: Config, model_path: Path, data_path: Path) -> str:
    return f"""
name: bench-throughput
model:
  name_or_path: {model_path}
  lora:
    {{r: {LORA["r"]}, alpha: {LORA["alpha"]}, dropout: {LORA["dropout"]}, target_modules: {TARGET_MODULES}}}
data: {{kind: file, path: {data_path}, preset: prompt_chosen_rejected}}
method: {{method: dpo, beta: {BETA}, loss: sigmoid}}
training:
  epochs: 1
  learning_rate: {LEARNING_RATE}
  batch_size: {cfg.batch_size}
  max_length: {cfg.max_length}
  max_prompt_length: {min(MAX_PROMPT_LENGTH, cfg.max_length - 1)}
  seed: {SEED}
  logging_steps: 100000
  precision: {cfg.precision}
"""


class _SilentProgress:
    """The pipeline reports to the run's event log; a benchmark has none."""

    def message(self, text: str) -> None:
        pass

    def on_log(self, step, max_steps, loss, metrics) -> None:
        pass

    def should_stop(self) -> bool:
        return False


def run_ours(cfg: Config, model_path: Path, data_path: Path, out_dir: Path) -> dict:
    import torch

    from recipes.io import parse_recipe
    from recipes.preference_data import PreferencePair
    from workers.batching import length_grouped_batches, padding_share
    from workers.pipelines.train import _load_model, _tokens, _train
    from workers.precision import device, training_precision
    from workers.scoring import score_pairs
    from workers.tokenization import PairTokenizer

    recipe = parse_recipe(_recipe_yaml(cfg, model_path, data_path))
    t = recipe.training
    pairs = [PreferencePair(**p) for p in json.loads(data_path.read_text())]
    dev = device()
    torch.manual_seed(t.seed)
    _, tokenizer, model = _load_model(recipe, dev)
    precision = training_precision(t.precision, dev)
    rss_before = _current_rss_mb()

    started, cpu_started = time.perf_counter(), _cpu_seconds()
    pair_tokenizer = PairTokenizer(tokenizer, max_length=t.max_length, max_prompt_length=t.max_prompt_length)
    train = pair_tokenizer.many(pairs)
    ref, _ = score_pairs(
        model, train.pairs, pad_id=tokenizer.pad_token_id, precision=precision, adapter_disabled=True
    )
    ref_seconds = time.perf_counter() - started
    _, stats, _ = _train(recipe, model, tokenizer, train, ref, out_dir, precision, dev, _SilentProgress())
    total = time.perf_counter() - started

    # The trainer's sampler groups epoch 0 with seed + 0: the same batches as this call.
    batches = length_grouped_batches([p.length for p in train.pairs], t.batch_size, t.seed)
    return {
        "seconds": total,
        "cpu_seconds": _cpu_seconds() - cpu_started,
        "reference_seconds": ref_seconds,
        "train_seconds": total - ref_seconds,
        "pairs": len(train.pairs),
        "tokens": _tokens(train),
        "steps": stats["steps"],
        "padding_share": padding_share(train.pairs, batches),
        "final_loss": stats["final_train_loss"],
        "rss_before_mb": rss_before,
    }


class _CountingCollator:
    """Wraps TRL's collator to count real vs padded token slots (TRL pads each batch to its longest row)."""

    def __init__(self, inner):
        self.inner = inner
        self.reset()

    def reset(self) -> None:
        self.real = self.slots = 0

    def __call__(self, examples):
        batch = self.inner(examples)
        mask = batch["attention_mask"]
        self.real += int(mask.sum())
        self.slots += mask.numel()
        return batch


def _trl_config(cfg: Config, out_dir: Path):
    from trl import DPOConfig

    from workers.scoring import SCORING_BATCH_PAIRS

    # Every field TRL 1.16 defaults differently from a plain Trainer is set explicitly (methods.md §0.5).
    return DPOConfig(
        output_dir=str(out_dir),
        per_device_train_batch_size=cfg.batch_size,
        num_train_epochs=1,
        learning_rate=LEARNING_RATE,
        lr_scheduler_type="linear",
        warmup_steps=0,
        max_length=cfg.max_length,
        beta=BETA,
        loss_type=["sigmoid"],
        precompute_ref_log_probs=True,
        precompute_ref_batch_size=SCORING_BATCH_PAIRS,  # the batch our reference pass uses
        gradient_checkpointing=False,  # TRL's default True; transformers 5 reads the new name below
        activation_checkpointing=False,
        bf16=cfg.precision == "bf16",
        fp16=False,
        use_cpu=True,
        padding_free=False,  # TRL 1.16: unavailable, it would warn and fall back anyway
        disable_dropout=False,  # ours keeps the LoRA dropout on: same work per step
        seed=SEED,
        logging_steps=100000,
        save_strategy="no",
        report_to=[],
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


def _conversational(pairs: list[dict[str, str]]):
    from datasets import Dataset

    # The conversational form makes TRL apply the chat template, as our PairTokenizer does.
    return Dataset.from_list(
        [
            {
                "prompt": [{"role": "user", "content": p["prompt"]}],
                "chosen": [{"role": "assistant", "content": p["chosen"]}],
                "rejected": [{"role": "assistant", "content": p["rejected"]}],
            }
            for p in pairs
        ]
    )


def run_trl(cfg: Config, model_path: Path, data_path: Path, out_dir: Path) -> dict:
    import torch
    from peft import LoraConfig
    from transformers.trainer_callback import PrinterCallback
    from trl import DPOTrainer
    from trl.trainer.dpo_trainer import DataCollatorForPreference

    from workers.modeling import load_base_model, load_tokenizer

    torch.manual_seed(SEED)
    tokenizer = load_tokenizer(model_path)
    model = load_base_model(model_path, "float32")
    dataset = _conversational(json.loads(data_path.read_text()))
    lora = LoraConfig(
        r=LORA["r"],
        lora_alpha=LORA["alpha"],
        lora_dropout=LORA["dropout"],
        target_modules=TARGET_MODULES,
        task_type="CAUSAL_LM",
    )
    collator = _CountingCollator(
        DataCollatorForPreference(pad_token_id=tokenizer.pad_token_id, max_length=cfg.max_length)
    )
    args = _trl_config(cfg, out_dir)
    rss_before = _current_rss_mb()

    started, cpu_started = time.perf_counter(), _cpu_seconds()
    trainer = DPOTrainer(
        model=model,
        ref_model=None,
        args=args,
        train_dataset=dataset,
        processing_class=tokenizer,
        peft_config=lora,
        data_collator=collator,
    )
    ref_seconds = time.perf_counter() - started
    trainer.remove_callback(PrinterCallback)
    collator.reset()  # count the training batches only, not the reference pass
    output = trainer.train()
    total = time.perf_counter() - started
    return {
        "seconds": total,
        "cpu_seconds": _cpu_seconds() - cpu_started,
        "reference_seconds": ref_seconds,
        "train_seconds": total - ref_seconds,
        "pairs": len(trainer.train_dataset),
        "checkpointing": bool(trainer.args.activation_checkpointing),  # must stay False (TRL default True)
        "tokens": collator.real,
        "steps": trainer.state.global_step,
        "padding_share": 1 - collator.real / collator.slots if collator.slots else 0.0,
        "final_loss": output.training_loss,
        "rss_before_mb": rss_before,
    }


def child_main(args: argparse.Namespace) -> None:
    import torch

    cfg = Config(args.model, args.pairs, args.batch_size, args.max_length, args.precision, args.threads)
    torch.set_num_threads(cfg.threads)
    runner = run_ours if args.child == "ours" else run_trl
    with tempfile.TemporaryDirectory(prefix="bench-out-") as out:
        result = runner(cfg, Path(args.model_path), Path(args.data_path), Path(out))
    seconds = result["seconds"]
    result |= {
        "trainer": args.child,
        "pairs_per_second": result["pairs"] / seconds,
        "tokens_per_second": result["tokens"] / seconds,
        "pairs_per_cpu_second": result["pairs"] / result["cpu_seconds"],
        "peak_rss_mb": _peak_rss_mb(),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------------
# Parent side: alternate the trainers in fresh processes, then summarise


def _child_env(workdir: Path, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TQDM_DISABLE": "1"}
    env |= {"HF_HUB_OFFLINE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
    env["TOKENIZERS_PARALLELISM"] = "false"
    # A cache of TRL's reference log-probs from an earlier child would skip its reference pass.
    env["HF_DATASETS_CACHE"] = str(workdir / f"datasets-cache-{time.monotonic_ns()}")
    return env


def run_child(trainer: str, cfg: Config, model_path: Path, data_path: Path, workdir: Path) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", trainer, "--model", cfg.model]
    cmd += ["--pairs", str(cfg.pairs), "--batch-size", str(cfg.batch_size)]
    cmd += ["--max-length", str(cfg.max_length), "--precision", cfg.precision, "--threads", str(cfg.threads)]
    cmd += ["--model-path", str(model_path), "--data-path", str(data_path)]
    proc = subprocess.run(cmd, cwd=ROOT, env=_child_env(workdir, cfg.threads), capture_output=True, text=True)
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise RuntimeError(f"{trainer} child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def measure(cfg: Config, repeats: int, model_path: Path, data_path: Path, workdir: Path) -> list[dict]:
    results = []
    for round_ in range(1, repeats + 1):
        for trainer in TRAINERS:  # interleaved so that load from other jobs hits both alike
            result = run_child(trainer, cfg, model_path, data_path, workdir) | {"round": round_}
            print(
                f"  round {round_} {trainer:4s}: {result['pairs_per_second']:.2f} pairs/s, "
                f"{result['seconds']:.1f} s (ref {result['reference_seconds']:.1f} s), "
                f"peak RSS {result['peak_rss_mb']:.0f} MB",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
    return results


STAT_KEYS = (
    "pairs_per_second",
    "tokens_per_second",
    "pairs_per_cpu_second",
    "peak_rss_mb",
    "seconds",
    "cpu_seconds",
    "reference_seconds",
    "train_seconds",
    "padding_share",
)


def _stats(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def summarise(results: list[dict]) -> dict[str, dict]:
    summary = {}
    for trainer in TRAINERS:
        runs = [r for r in results if r["trainer"] == trainer]
        summary[trainer] = {key: _stats([r[key] for r in runs]) for key in STAT_KEYS}
        summary[trainer] |= {key: runs[0][key] for key in ("pairs", "tokens", "steps")}
    ours, trl = summary["ours"], summary["trl"]

    def ratio(a: dict, b: dict, key: str) -> float:
        return a[key]["median"] / b[key]["median"]

    summary["ratios"] = {
        "speed_ours_over_trl": ratio(ours, trl, "pairs_per_second"),
        "tokens_speed_ours_over_trl": ratio(ours, trl, "tokens_per_second"),
        "cpu_efficiency_ours_over_trl": ratio(ours, trl, "pairs_per_cpu_second"),
        "memory_trl_over_ours": ratio(trl, ours, "peak_rss_mb"),
    }
    return summary


def _fmt(stat: dict[str, float], digits: int = 2) -> str:
    return f"{stat['median']:.{digits}f} ({stat['min']:.{digits}f}–{stat['max']:.{digits}f})"


def _row(label: str, s: dict) -> str:
    cells = [
        label,
        _fmt(s["pairs_per_second"]),
        _fmt(s["tokens_per_second"], 0),
        _fmt(s["peak_rss_mb"], 0),
        _fmt(s["seconds"], 1),
        _fmt(s["cpu_seconds"], 1),
        _fmt(s["reference_seconds"], 1),
        _fmt(s["train_seconds"], 1),
        f"{s['padding_share']['median']:.1%}",
        f"{s['pairs']} · {s['steps']}",
    ]
    return "| " + " | ".join(cells) + " |"


def table(summary: dict[str, dict]) -> str:
    header = ["trainer", "pairs/s", "tokens/s", "peak RSS MB", "wall s", "CPU s", "ref pass s", "train s"]
    header += ["padding", "pairs · steps"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.append(_row("ours (PreferenceTrainer)", summary["ours"]))
    lines.append(_row("TRL DPOTrainer", summary["trl"]))
    r = summary["ratios"]
    lines += [
        "",
        f"Speed ours/TRL: **{r['speed_ours_over_trl']:.2f}×** pairs/s "
        f"({r['tokens_speed_ours_over_trl']:.2f}× tokens/s, {r['cpu_efficiency_ours_over_trl']:.2f}× pairs "
        f"per CPU-second); memory TRL/ours: **{r['memory_trl_over_ours']:.2f}×** peak RSS (medians).",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# docs/benchmarks.md: our section holds one subsection per configuration, each replaced on rerun


def _subsection_title(cfg: Config) -> str:
    return (
        f"### {cfg.model} · {cfg.precision} · {cfg.pairs} pairs · batch {cfg.batch_size} "
        f"· max_length {cfg.max_length} · {cfg.threads} thread{'s' if cfg.threads != 1 else ''}"
    )


def _cpu_model() -> str:
    return cpu_model()


def _versions() -> str:
    return versions(("torch", "transformers", "peft", "trl", "accelerate", "datasets"))


def subsection(cfg: Config, repeats: int, summary: dict, source: str, command: str) -> str:
    return "\n".join(
        [
            _subsection_title(cfg),
            "",
            f"- Command: `{command}`",
            f"- Date: {dt.date.today().isoformat()}; CPU: {_cpu_model()}; torch threads {cfg.threads}",
            f"- Versions: {_versions()}; Python {platform.python_version()}",
            f"- Data: first {cfg.pairs} pairs of {source}; {repeats} rounds, each trainer in a fresh process",
            "",
            table(summary),
            "",
        ]
    )


SECTION_INTRO = f"""{SECTION}

`bench/train_throughput.py` trains one epoch of LoRA-DPO with our `PreferenceTrainer` and with TRL's
`DPOTrainer` on the same model, pairs, LoRA (r={LORA["r"]}, alpha={LORA["alpha"]}, dropout {LORA["dropout"]},
all attention and MLP projections), batch size, max_length, learning rate ({LEARNING_RATE}), seed and
precision, with {THREADS} torch threads unless `--threads` says otherwise. Each measurement runs in its own
subprocess, alternating ours / TRL. The timed span is everything after the base model is loaded:
ours = tokenization + reference pass (adapter disabled) + trainer construction + train(); TRL =
`DPOTrainer(...)` construction (tokenizes and, with `precompute_ref_log_probs=True`, runs its reference
pass with the adapter disabled) + train(). TRL is configured explicitly: `gradient_checkpointing=False`,
bf16 only when asked, the same lr and max_length, `disable_dropout=False` (ours keeps LoRA dropout),
`use_cpu=True`, `padding_free=False`, reference batch 8 pairs (as ours).

Numbers are median (min–max) over rounds. pairs/s and tokens/s count the pairs and non-padding tokens
each trainer actually trained on, over the whole timed span; CPU s is the child's user+system time over
the same span; peak RSS is the child's `ru_maxrss` (model load included); padding is the share of padded
token slots in the training batches. Token counts differ a little: ours cuts prompts to
{MAX_PROMPT_LENGTH} tokens from the left and responses to fit, TRL 1.16 cuts prompt+response at max_length
from the start.

**Caveat:** the machine was shared with other jobs during these runs (load average above the 2 cores), so
timings are noisy; compare ratios within one configuration, not absolute numbers across configurations.
With 2 torch threads on 2 busy cores, OpenMP threads wait on each other at every kernel: on the tiny
model this made a reference pass ~20× slower than with 1 thread, which inflates the cost of many small
kernels; the 1-thread rows are the steadier cross-check. The goal is ≥ 1.5× TRL's pairs/s.
"""


def _split_subsections(body: str) -> dict[str, str]:
    parts = re.split(r"(?m)^(?=### )", body)
    return {p.splitlines()[0]: p.rstrip() + "\n" for p in parts if p.startswith("### ")}


def write_docs(path: Path, cfg: Config, text: str) -> None:
    """Replace (or add) this configuration's subsection in our section; other sections stay as they are."""
    doc = path.read_text() if path.exists() else ""
    doc = doc if doc.strip() else "# Benchmarks\n"
    pattern = re.compile(rf"(?ms)^{re.escape(SECTION)}\n.*?(?=^## |\Z)")
    found = pattern.search(doc)
    subsections = _split_subsections(found.group(0)) if found else {}
    subsections[_subsection_title(cfg)] = text.rstrip() + "\n"
    section = SECTION_INTRO + "\n" + "\n".join(subsections.values())
    if found:
        doc = doc[: found.start()] + section + ("\n" if doc[found.end() :] else "") + doc[found.end() :]
    else:
        doc = doc.rstrip() + "\n\n" + section
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc)


# ---------------------------------------------------------------------------------------------------
# CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", choices=("tiny", "smollm2"), default="tiny")
    p.add_argument("--pairs", type=int, help="pairs to train on (default 64 tiny, 32 smollm2)")
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--max-length", type=int, default=256)
    p.add_argument("--repeats", type=int, default=3, help="rounds of ours + TRL")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32")
    p.add_argument("--threads", type=int, default=THREADS, help="torch threads in each child (default 2)")
    p.add_argument("--out", type=Path, help="markdown file to update (e.g. docs/benchmarks.md)")
    p.add_argument("--json", action="store_true", help="print every measurement and the summary as JSON")
    # Internal: the parent starts itself again with these to run one measurement.
    p.add_argument("--child", choices=TRAINERS, help=argparse.SUPPRESS)
    p.add_argument("--model-path", help=argparse.SUPPRESS)
    p.add_argument("--data-path", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.pairs is None:
        args.pairs = 64 if args.model == "tiny" else 32
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return
    cfg = Config(args.model, args.pairs, args.batch_size, args.max_length, args.precision, args.threads)
    command = "PYTHONPATH=. .venv/bin/python bench/train_throughput.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        workdir = Path(tmp)
        pairs, source = load_pairs(cfg.pairs)
        data_path = workdir / "pairs.json"
        data_path.write_text(json.dumps(pairs))
        model_path = prepare_model(cfg.model, workdir)
        print(f"{_subsection_title(cfg)[4:]}: {args.repeats} rounds, model {model_path}", file=sys.stderr)
        results = measure(cfg, args.repeats, model_path, data_path, workdir)
    summary = summarise(results)
    print(table(summary))
    if args.json:
        print(json.dumps({"config": asdict(cfg), "results": results, "summary": summary}, indent=2))
    if args.out:
        write_docs(args.out, cfg, subsection(cfg, args.repeats, summary, source, command))


if __name__ == "__main__":
    main()
