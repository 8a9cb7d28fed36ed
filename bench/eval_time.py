"""Evaluation time: seconds to evaluate held-out pairs on SmolLM2 (CPU), metric by metric.

What the training pipeline runs after training (methods.md §7), timed phase by phase on a LoRA adapter
whose B matrices are non-zero (seeded random values, or `--adapter PATH`), so base ≠ policy:

- E1–E5 with shared passes, as `workers/pipelines/train.py` does: one base pass (adapter off, fp32,
  `ChesCollector` on its hidden states) and one policy pass (adapter on) per pair, then the pure metrics
  (`heldout_metrics`, `ches_report`): 2 forward passes per pair;
- the same metrics computed the naive way, each from its own passes (E1/E2 base + policy, E3 base +
  policy, E4 base + policy, E5 its own adapter-off hidden-state pass = 7 passes per pair), measured on a
  subset (every k-th pair) next to the shared way on that same subset, and extrapolated to all pairs;
- E7 KL (`kl_metrics`), E8 perplexity (`perplexity_delta`);
- E6 win rate (`win_rate_pass`): base and policy answers with identical decoding, generation and judging
  timed apart, judged by a `PairwiseJudge` fitted on MiniLM embeddings of the training pairs.

Each configuration (shared, naive) runs in its own subprocess and prints one JSON result line.

    PYTHONPATH=. .venv/bin/python bench/eval_time.py --out docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run directly, without PYTHONPATH
    sys.path.insert(0, str(ROOT))

from bench.machine import cpu_model, versions  # noqa: E402

SECTION = "## Evaluation time"
RESULT_PREFIX = "BENCH_RESULT "
HELDOUT = ROOT / "examples/data/demo-pairs.heldout.jsonl"
TRAIN = ROOT / "examples/data/demo-pairs.train.jsonl"
CHILDREN = ("shared", "naive")
THREADS = 2
SEED = 0
B_INIT_STD = 0.02  # random LoRA B: policy log-probs move by a few nats per response, like a trained adapter
MAX_LENGTH, MAX_PROMPT_LENGTH = 256, 128
NAIVE_PASSES = 7  # E1/E2: base + policy, E3: base + policy, E4: base + policy, E5: base hidden states


def recipe_yaml(args: argparse.Namespace) -> str:
    """The recipe `heldout_metrics`, `kl_metrics` and `perplexity_delta` read (β, seed, E7/E8 sizes)."""
    return f"""
name: bench-eval-time
model: {{name_or_path: smollm2-135m-instruct, lora: {{r: 16, alpha: 32, dropout: 0.0}}}}
data: {{kind: file, path: {TRAIN}, preset: prompt_chosen_rejected}}
method: {{method: dpo, beta: 0.1, loss: sigmoid}}
training: {{max_length: {MAX_LENGTH}, max_prompt_length: {MAX_PROMPT_LENGTH}, seed: {SEED}, precision: fp32}}
evaluation:
  kl_prompts: {args.kl_prompts}
  kl_max_new_tokens: {args.kl_tokens}
  perplexity_windows: {args.ppl_windows}
"""


# ---------------------------------------------------------------------------------------------------
# Child side: data, model, timed phases


def read_pairs(path: Path) -> list:
    from recipes.preference_data import PreferencePair

    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [PreferencePair(**{k: r[k] for k in ("prompt", "chosen", "rejected")}) for r in rows]


def eval_pairs(tokenizer, n: int):
    """The first n tokenized pairs of held-out + training pairs (240 held-out are too few for 500).

    Returns (pairs, soft labels, how many came from the held-out file)."""
    from workers.tokenization import PairTokenizer

    heldout = read_pairs(HELDOUT)
    pairs = heldout + read_pairs(TRAIN)
    tokenizer_ = PairTokenizer(tokenizer, max_length=MAX_LENGTH, max_prompt_length=MAX_PROMPT_LENGTH)
    tokenized = tokenizer_.many(pairs)
    if len(tokenized.pairs) < n:
        raise SystemExit(f"only {len(tokenized.pairs)} usable pairs, asked for {n}")
    kept = tokenized.kept[:n]
    from_heldout = sum(i < len(heldout) for i in kept)
    return tokenized.pairs[:n], [pairs[i].soft_label for i in kept], from_heldout


def randomize_lora_b(model, std: float, seed: int) -> None:
    """A fresh adapter has B = 0 (policy = base); seeded small B makes the two differ."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in sorted(model.named_parameters()):
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * std)


def load_policy(recipe, adapter: str | None):
    """(tokenizer, PeftModel) in fp32: the demo adapter from `adapter`, else LoRA with random B."""
    from peft import PeftModel

    from workers import modeling

    path = modeling.resolve_model(recipe.model.name_or_path)
    tokenizer = modeling.load_tokenizer(path)
    base = modeling.load_base_model(path, "float32")
    if adapter:
        return tokenizer, PeftModel.from_pretrained(base, adapter).eval()
    model = modeling.apply_lora(base, recipe.model.lora)
    randomize_lora_b(model, B_INIT_STD, SEED)
    return tokenizer, model.eval()


class Timer:
    """Wall seconds per named phase, in the order they ran."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str, fn: Callable, *args, **kwargs):
        started = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        return out


def score(model, tokenizer, pairs, *, adapter_disabled=False, on_hidden=None):
    from workers.scoring import score_pairs

    return score_pairs(model, pairs, pad_id=tokenizer.pad_token_id, adapter_disabled=adapter_disabled,
                       on_hidden=on_hidden)  # fmt: skip


def shared_e1_e5(timer: Timer, prefix: str, recipe, model, tokenizer, pairs, soft_labels) -> dict:
    """As the pipeline: base pass with the CHES hook, policy pass, then pure metrics (2 passes per pair)."""
    from workers.evaluators import ChesCollector
    from workers.pipelines.evaluate import ches_report, heldout_metrics

    ches = ChesCollector(len(pairs))
    base, lengths = timer(
        f"{prefix}base", score, model, tokenizer, pairs, adapter_disabled=True, on_hidden=ches
    )
    policy, _ = timer(f"{prefix}policy", score, model, tokenizer, pairs)
    metrics = timer(f"{prefix}metrics", heldout_metrics, recipe, soft_labels, base, policy, lengths)
    # E5's pure part; the held-out LN-CHES stands in for the training pairs' (no training here).
    report = timer(f"{prefix}metrics", ches_report, ches.ln_ches, list(range(len(pairs))), ches.ln_ches,
                   base, policy)  # fmt: skip
    return {"metrics": metrics, "ln_ches": ches.ln_ches, "base": base, "policy": policy, "lengths": lengths,
            "spearman": report["heldout_spearman_ln_ches_vs_chosen_drift"]}  # fmt: skip


def naive_e1_e5(timer: Timer, recipe, model, tokenizer, pairs, soft_labels) -> dict:
    """Each metric family from its own passes, as code that does not share passes would (7 per pair)."""
    from workers.evaluators import ches_pass, drift_metrics, idealized_metrics
    from workers.evaluators.ranking import preference_metrics

    ev, beta = recipe.evaluation, recipe.method.beta

    def both() -> tuple[list, list, list]:
        base, lengths = score(model, tokenizer, pairs, adapter_disabled=True)
        policy, _ = score(model, tokenizer, pairs)
        return base.tolist(), policy.tolist(), lengths.tolist()

    def e1_e2() -> dict:
        b, p, n = both()
        out = preference_metrics(b, p, n, beta=beta, confidence=ev.confidence_level,
                                 bootstrap_samples=ev.bootstrap_samples)  # fmt: skip
        return out | idealized_metrics(b, p, n, soft_labels=soft_labels, beta=beta)

    def e3() -> dict:
        b, p, n = both()
        return preference_metrics(b, p, n, beta=beta, confidence=ev.confidence_level,
                                  bootstrap_samples=ev.bootstrap_samples)  # fmt: skip

    def e4() -> dict:
        return drift_metrics(*both())

    metrics = timer("naive_e1_e2", e1_e2) | timer("naive_e3", e3) | timer("naive_e4", e4)
    ches = timer("naive_e5", ches_pass, model, pairs, pad_id=tokenizer.pad_token_id)
    return {"metrics": metrics, "ln_ches": ches.ln_ches.tolist()}


def packed_tokens(pairs) -> int:
    return sum(p.length for p in pairs)


def max_abs_diff(a: list[float], b: list[float]) -> float:
    return max(abs(x - y) for x, y in zip(a, b, strict=True))


def same_metrics(shared: dict, naive: dict) -> float:
    """Largest difference between the shared and naive values of the metrics both computed."""
    keys = [k for k, v in shared.items() if isinstance(v, float) and isinstance(naive.get(k), float)]
    return max((abs(shared[k] - naive[k]) for k in keys if shared[k] == shared[k]), default=0.0)


def run_naive(args, recipe, model, tokenizer, pairs, soft_labels, timer: Timer) -> dict:
    """Shared and naive E1–E5 on the same subset (every k-th pair), so their ratio is measured directly."""
    step = max(len(pairs) // args.naive_pairs, 1)
    picked = list(range(0, len(pairs), step))[: args.naive_pairs]
    subset, labels = [pairs[i] for i in picked], [soft_labels[i] for i in picked]
    shared = shared_e1_e5(timer, "subset_", recipe, model, tokenizer, subset, labels)
    naive = naive_e1_e5(timer, recipe, model, tokenizer, subset, labels)
    return {
        "subset_pairs": len(subset),
        "subset_tokens": packed_tokens(subset),
        "all_tokens": packed_tokens(pairs),
        "metric_max_abs_diff": same_metrics(shared["metrics"], naive["metrics"]),
        "ln_ches_max_abs_diff": max_abs_diff(shared["ln_ches"], naive["ln_ches"]),
    }


class TimedJudge:
    """Wraps the judge so `win_rate_pass` can run unchanged while its judging seconds are counted apart."""

    def __init__(self, judge):
        self.judge, self.seconds = judge, 0.0

    def score(self, prompts, responses):
        started = time.perf_counter()
        out = self.judge.score(prompts, responses)
        self.seconds += time.perf_counter() - started
        return out


def win_rate_prompts(n: int) -> list[str]:
    """n distinct prompts: the held-out file's (it has only 74 distinct ones), then the training file's."""
    prompts = [p.prompt for p in read_pairs(HELDOUT) + read_pairs(TRAIN)]
    return list(dict.fromkeys(prompts))[:n]


def win_rate(args, model, tokenizer, timer: Timer) -> dict:
    """E6 on `win_prompts` distinct prompts, held-out first; the judge's quality is not the point."""
    from workers.evaluators.win_rate import win_rate_pass
    from workers.reward_models import MiniLMEncoder, PairwiseJudge

    judge = TimedJudge(timer("judge_fit", PairwiseJudge.fit, read_pairs(TRAIN), MiniLMEncoder()))
    prompts = win_rate_prompts(args.win_prompts)
    decoding = {"max_new_tokens": args.win_tokens, "seed": SEED, "max_prompt_length": MAX_PROMPT_LENGTH}
    result = timer("win_rate_total", win_rate_pass, model, tokenizer, prompts, judge, **decoding)
    timer.seconds["win_rate_judging"] = judge.seconds
    timer.seconds["win_rate_generation"] = timer.seconds.pop("win_rate_total") - judge.seconds
    m = result.metrics
    generated = sum(m[f"mean_length_{side}"] for side in ("base", "policy")) * len(prompts)
    heldout_prompts = len({p.prompt for p in read_pairs(HELDOUT)} & set(prompts))
    return {"win_prompts": len(prompts), "win_heldout_prompts": heldout_prompts, "win_rate": m["win_rate"],
            "win_tokens_generated": generated}  # fmt: skip


def run_shared(args, recipe, model, tokenizer, pairs, soft_labels, timer: Timer) -> dict:
    from workers.pipelines.evaluate import kl_metrics, perplexity_delta

    out = shared_e1_e5(timer, "", recipe, model, tokenizer, pairs, soft_labels)
    m = out["metrics"]
    kl = timer("kl", kl_metrics, recipe, model, tokenizer, [p.prompt_ids for p in pairs], "fp32")
    # E8's in-domain perplexity reuses the chosen log-probs of the two passes above, as the pipeline does.
    base, policy, lengths = out["base"], out["policy"], out["lengths"]
    chosen = ((base[:, 0].tolist(), lengths[:, 0].tolist()), (policy[:, 0].tolist(), lengths[:, 0].tolist()))
    ppl = timer("ppl", perplexity_delta, recipe, model, tokenizer, "fp32", None, chosen)
    return {
        "pairs": len(pairs),
        "tokens": packed_tokens(pairs),
        "reward_accuracy": m["reward_accuracy"],
        "ranking_accuracy_before": m["ranking_accuracy_before"],
        "ranking_accuracy_after": m["ranking_accuracy_after"],
        "kl_k3_sequence": kl["kl_k3_sequence"],
        "kl_mean_tokens": kl["kl_mean_tokens"],
        "ppl_base": ppl["ppl_base"],
        "ppl_policy": ppl["ppl_policy"],
        "ppl_tokens": ppl["ppl_tokens"],
    } | win_rate(args, model, tokenizer, timer)


def child_main(args: argparse.Namespace) -> None:
    import torch

    from recipes.io import parse_recipe

    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    recipe = parse_recipe(recipe_yaml(args))
    timer = Timer()
    tokenizer, model = timer("load", load_policy, recipe, args.adapter)
    pairs, soft_labels, from_heldout = timer("tokenize", eval_pairs, tokenizer, args.pairs)
    runner = run_shared if args.child == "shared" else run_naive
    result = runner(args, recipe, model, tokenizer, pairs, soft_labels, timer)
    result |= {
        "child": args.child,
        "from_heldout": from_heldout,
        "seconds": timer.seconds,
        "peak_rss_mb": _peak_rss_mb(),
    }
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ---------------------------------------------------------------------------------------------------
# Parent side: one subprocess per configuration, then the table


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env |= {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "TQDM_DISABLE": "1"}
    env |= {"HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    return env


def _child_argv(args: argparse.Namespace, child: str) -> list[str]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--child", child]
    for name in (
        "pairs",
        "naive_pairs",
        "kl_prompts",
        "kl_tokens",
        "ppl_windows",
        "win_prompts",
        "win_tokens",
    ):
        argv += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    argv += ["--threads", str(args.threads)] + (["--adapter", args.adapter] if args.adapter else [])
    return argv


def run_child(args: argparse.Namespace, child: str) -> dict:
    started = time.perf_counter()
    proc = subprocess.run(_child_argv(args, child), cwd=ROOT, env=_child_env(args.threads),
                          capture_output=True, text=True)  # fmt: skip
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            result = json.loads(line[len(RESULT_PREFIX) :])
            result["child_wall_s"] = time.perf_counter() - started  # model load and imports included
            print(f"  {child}: {result['child_wall_s']:.0f} s", file=sys.stderr, flush=True)
            return result
    raise RuntimeError(f"{child} child failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")


def _rate(count: float, seconds: float, unit: str) -> str:
    return f"{count / seconds:.2f} {unit}/s" if seconds > 0 else "–"


def _row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def e1_e5_facts(shared: dict, naive: dict) -> dict:
    """Totals, and the naive time for all pairs extrapolated from the subset two ways."""
    s, n = shared["seconds"], naive["seconds"]
    shared_total = s["base"] + s["policy"] + s["metrics"]
    sub_shared = n["subset_base"] + n["subset_policy"] + n["subset_metrics"]
    sub_naive = sum(n[k] for k in ("naive_e1_e2", "naive_e3", "naive_e4", "naive_e5"))
    ratio = sub_naive / sub_shared
    token_scale = naive["all_tokens"] / naive["subset_tokens"]
    # Primary: the subset's measured naive/shared ratio applied to the measured full shared time, which
    # cancels what the subset does differently (fewer, less full batches); token scaling as a cross-check.
    return {"shared_total": shared_total, "sub_shared": sub_shared, "sub_naive": sub_naive,
            "subset_ratio": ratio, "naive_all": shared_total * ratio, "token_scale": token_scale,
            "naive_all_by_tokens": sub_naive * token_scale}  # fmt: skip


def e1_e5_rows(shared: dict, naive: dict, facts: dict) -> list[str]:
    s, pairs, sub = shared["seconds"], shared["pairs"], naive["subset_pairs"]
    total, naive_all = facts["shared_total"], facts["naive_all"]
    return [
        _row("base pass (adapter off, CHES hook)", f"{pairs} pairs", 1, f"{s['base']:.1f}",
             _rate(pairs, s["base"], "pairs")),
        _row("policy pass (adapter on)", f"{pairs} pairs", 1, f"{s['policy']:.1f}",
             _rate(pairs, s["policy"], "pairs")),
        _row("E1–E5 pure metrics (incl. bootstrap CIs)", f"{pairs} pairs", 0, f"{s['metrics']:.2f}", ""),
        _row("**E1–E5, shared passes**", f"{pairs} pairs", "**2**", f"**{total:.1f}**",
             _rate(pairs, total, "pairs")),
        _row("E1–E5 shared, subset", f"{sub} pairs", 2, f"{facts['sub_shared']:.1f}",
             _rate(sub, facts["sub_shared"], "pairs")),
        _row("E1–E5 naive, subset (measured)", f"{sub} pairs", NAIVE_PASSES, f"{facts['sub_naive']:.1f}",
             _rate(sub, facts["sub_naive"], "pairs")),
        _row(f"**E1–E5 naive, extrapolated** (shared × {facts['subset_ratio']:.2f})", f"{pairs} pairs",
             f"**{NAIVE_PASSES}**", f"**{naive_all:.1f}**", _rate(pairs, naive_all, "pairs")),
    ]  # fmt: skip


def generation_rows(shared: dict, args: argparse.Namespace) -> list[str]:
    s = shared["seconds"]
    win_gen, win_judge = s["win_rate_generation"], s["win_rate_judging"]
    answers = 2 * shared["win_prompts"]
    return [
        _row("E7 KL (T=1 samples, scored adapter on + off)",
             f"{args.kl_prompts} prompts × {args.kl_tokens} tokens",
             "1 generation + 2", f"{s['kl']:.1f}", _rate(args.kl_prompts, s["kl"], "prompts")),
        _row("E8 general-text perplexity (base + policy)", f"{args.ppl_windows} windows of ≤ 256 tokens", 2,
             f"{s['ppl']:.1f}", _rate(args.ppl_windows, s["ppl"], "windows")),
        _row("E6 win rate: generation (base + policy, T=0.7, top-p 0.9)",
             f"{shared['win_prompts']} prompts × {args.win_tokens} tokens × 2", "2 generations",
             f"{win_gen:.1f}", _rate(shared["win_tokens_generated"], win_gen, "tokens")),
        _row("E6 win rate: judging (MiniLM + Bradley–Terry head)", f"{answers} answers", "–",
             f"{win_judge:.1f}", _rate(answers, win_judge, "answers")),
        _row("(setup) judge fit on the training pairs", "438 pairs", "–", f"{s['judge_fit']:.1f}", ""),
        _row("(setup) model load + LoRA / tokenization", f"{shared['pairs']} pairs", "–",
             f"{s['load']:.1f} / {s['tokenize']:.1f}", ""),
    ]  # fmt: skip


def table(shared: dict, naive: dict, args: argparse.Namespace) -> tuple[str, dict]:
    header = ["phase", "work", "forward passes per item", "seconds", "rate"]
    lines = [_row(*header), "|" + "---|" * len(header)]
    facts = e1_e5_facts(shared, naive)
    rows = e1_e5_rows(shared, naive, facts) + generation_rows(shared, args)
    return "\n".join(lines + rows), facts


# ---------------------------------------------------------------------------------------------------
# docs/benchmarks.md: our section is replaced on rerun, the others stay as they are


def _cpu_model() -> str:
    return cpu_model()


def _versions() -> str:
    return versions(("torch", "transformers", "peft"))


def passes_paragraph(shared: dict, naive: dict, facts: dict) -> str:
    saved = facts["naive_all"] / facts["shared_total"]
    return (
        f"**Passes per pair:** E1–E5 together make **2** no-grad forward passes per held-out pair (one "
        f"packed prompt + chosen + rejected row with the adapter off, which also feeds CHES through the "
        f"`on_hidden` hook, and one with the adapter on); E1, E2, E3 and E4 are pure functions of those "
        f"log-probs. A naive implementation that computes each metric from its own passes makes "
        f"{NAIVE_PASSES} (E1/E2 base + policy, E3 base + policy, E4 base + policy, E5 a separate adapter-off "
        f"hidden-state pass). On the same {naive['subset_pairs']}-pair subset the naive way took "
        f"{facts['subset_ratio']:.2f}× as long as the shared one (measured; 7 passes against 2 would be "
        f"3.5× if all passes cost the same); extrapolated to {shared['pairs']} pairs it would take "
        f"~{facts['naive_all']:.0f} s against {facts['shared_total']:.0f} s measured ({saved:.1f}× the "
        f"time; scaling the subset by packed tokens instead gives ~{facts['naive_all_by_tokens']:.0f} s). "
        f"Both ways give the same numbers (largest "
        f"metric difference {naive['metric_max_abs_diff']:.1g}, LN-CHES {naive['ln_ches_max_abs_diff']:.1g})."
    )


def _wrap(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=105, break_long_words=False, break_on_hyphens=False)


def section(shared: dict, naive: dict, args: argparse.Namespace, command: str) -> str:
    body, facts = table(shared, naive, args)
    adapter = args.adapter or f"fresh LoRA r=16 α=32 on all projections, B ~ N(0, {B_INIT_STD}²) seed {SEED}"
    return "\n".join([
        SECTION,
        "",
        _wrap(
            "`bench/eval_time.py` times the held-out evaluation the training pipeline runs after training "
            "(methods.md §7), phase by phase, on SmolLM2-135M-Instruct in fp32 with a LoRA adapter that "
            "moves the policy away from the base. Each configuration (shared passes; naive) runs in its "
            "own subprocess; wall seconds from `time.perf_counter` around each phase."
        ),
        "",
        f"- Command: `{command}`",
        f"- Date: {dt.date.today().isoformat()}; CPU: {_cpu_model()}; torch threads {args.threads}",
        f"- Versions: {_versions()}; Python {platform.python_version()}",
        f"- Adapter: {adapter}",
        f"- Data: {shared['pairs']} pairs = {shared['from_heldout']} of "
        f"examples/data/demo-pairs.heldout.jsonl (all it has) + the first "
        f"{shared['pairs'] - shared['from_heldout']} of demo-pairs.train.jsonl, tokenized "
        f"with the chat template, max_length {MAX_LENGTH}, max_prompt_length {MAX_PROMPT_LENGTH} "
        f"({shared['tokens']} tokens in packed rows); scoring batches of 8 pairs.",
        f"- Naive baseline: measured on a {naive['subset_pairs']}-pair subset only (every "
        f"{shared['pairs'] // naive['subset_pairs']}th pair, {naive['subset_tokens']} tokens), next to the "
        f"shared way on the same subset in the same process; the {shared['pairs']}-pair figure is "
        "**extrapolated**: the measured full shared time × the subset's naive/shared ratio.",
        "- E6: the judge is a `PairwiseJudge` fitted on MiniLM embeddings of the 438 training pairs, just "
        "to have one (its quality and its overlap with the scored pairs do not matter for timing); the "
        f"{shared['win_prompts']} prompts are the held-out file's {shared['win_heldout_prompts']} distinct "
        f"prompts, then the first {shared['win_prompts'] - shared['win_heldout_prompts']} distinct training "
        "prompts; batches of 8, the same seeds for both sides.",
        f"- Peak RSS: {shared['peak_rss_mb']:.0f} MB (shared), {naive['peak_rss_mb']:.0f} MB (naive); whole "
        f"run {(shared['child_wall_s'] + naive['child_wall_s']) / 60:.1f} min (shared child "
        f"{shared['child_wall_s']:.0f} s, naive child {naive['child_wall_s']:.0f} s, imports included).",
        "",
        body,
        "",
        _wrap(passes_paragraph(shared, naive, facts)),
        "",
    ])  # fmt: skip


def write_docs(path: Path, text: str) -> None:
    """Replace (or append) our section; every other section stays as it is."""
    doc = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(rf"(?ms)^{re.escape(SECTION)}\n.*?(?=^## |\Z)")
    found = pattern.search(doc)
    if found:
        rest = doc[found.end() :]
        doc = doc[: found.start()] + text.rstrip() + "\n" + ("\n" if rest else "") + rest
    else:
        doc = doc.rstrip() + "\n\n" + text.rstrip() + "\n"
    path.write_text(doc)


# ---------------------------------------------------------------------------------------------------
# CLI


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pairs", type=int, default=500, help="held-out pairs for E1–E5 (default 500)")
    p.add_argument("--naive-pairs", type=int, default=100, help="subset the naive baseline is measured on")
    p.add_argument("--kl-prompts", type=int, default=32)
    p.add_argument("--kl-tokens", type=int, default=64)
    p.add_argument("--ppl-windows", type=int, default=64)
    p.add_argument("--win-prompts", type=int, default=100)
    p.add_argument("--win-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=THREADS)
    p.add_argument("--adapter", help="a saved adapter folder (e.g. the demo's); default: random LoRA B")
    p.add_argument("--out", type=Path, help="markdown file to update (e.g. docs/benchmarks.md)")
    p.add_argument("--json", action="store_true", help="print both results as JSON")
    p.add_argument("--child", choices=CHILDREN, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.child:
        child_main(args)
        return
    command = "PYTHONPATH=. .venv/bin/python bench/eval_time.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    results = {child: run_child(args, child) for child in CHILDREN}
    text = section(results["shared"], results["naive"], args, command.strip())
    print(text)
    if args.json:
        print(json.dumps(results, indent=2))
    if args.out:
        write_docs(args.out, text)


if __name__ == "__main__":
    main()
