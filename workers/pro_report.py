"""PRO's report section (methods.md §3A pitfalls 3-4, §7 E9): the inferred weights and what they buy.

- Weights w(x) on every training and held-out prompt: per-objective mean and spread, entropy against
  the uniform maximum log m (collapse to one fixed weighting shows as no spread), how often the top
  objective changes, and a table of example prompts.
- Adapter fit: KL(t ‖ w) on training and held-out prompts next to the average-weights baseline t̄.
- E9 on held-out records, from one adapter-off and one adapter-on pass over each response: the
  objective scores of the response each rule picks per prompt (base model, adapter, implicit reward,
  and the data's own best by equal or inferred weights), the worst objective, and per-objective pair
  accuracy of the implicit reward.
"""

from __future__ import annotations

import math
import os
from typing import Any

import torch

from recipes.preference_data import DEFAULT_SCORE_GAP, PreferencePair
from workers.losses import preference_adapter_kl, scalarized_rewards
from workers.preference_adapter import ScoredRecord, adapter_targets, encode_prompts, scored_records
from workers.scoring import score_pairs
from workers.tokenization import PairTokenizer

EXAMPLE_ROWS = 8
PROMPT_CHARS = 80


def entropy(weights: torch.Tensor) -> torch.Tensor:
    """H(w) = −Σ_i w_i·log w_i per row (nats); log m for uniform weights over m objectives."""
    return -(weights * weights.clamp(min=1e-12).log()).sum(dim=-1)


def weight_summary(weights: torch.Tensor, objectives: list[str]) -> dict[str, Any]:
    """Spread of w(x) over prompts: per objective, entropy, and how often the top objective changes."""
    h = entropy(weights)
    tops = [objectives[i] for i in weights.argmax(dim=1).tolist()]
    counts = {name: tops.count(name) for name in objectives}
    most = max(counts, key=counts.get)
    return {
        "prompts": len(weights),
        "entropy_mean": float(h.mean()),
        "entropy_min": float(h.min()),
        "entropy_max": float(h.max()),
        "entropy_uniform": math.log(len(objectives)),
        "top_objective_counts": counts,
        "top_objectives_distinct": sum(1 for n in counts.values() if n),
        "top_differs_from_most_common": 1 - counts[most] / len(tops),
        "per_objective": {
            name: {
                "mean": float(col.mean()),
                "std": float(col.std(unbiased=False)),
                "min": float(col.min()),
                "max": float(col.max()),
            }
            for name, col in zip(objectives, weights.T, strict=True)
        },  # fmt: skip
    }


def shorten(prompts: list[str], chars: int = PROMPT_CHARS) -> list[str]:
    """The first `chars` characters after the prefix every prompt shares (a fixed instruction would
    otherwise fill every row); whitespace collapsed."""
    flat = [" ".join(p.split()) for p in prompts]
    shared = os.path.commonprefix(flat) if len(flat) > 1 else ""
    cut = shared.rfind(" ") + 1 if shared else 0
    return [("…" if cut else "") + text[cut : cut + chars] for text in flat]


def example_table(rows: list[tuple[str, str, list[float]]], objectives: list[str]) -> dict[str, Any]:
    """rows: (split, prompt, weights); the first EXAMPLE_ROWS, in data order (no picking)."""
    rows = rows[:EXAMPLE_ROWS]
    short = shorten([prompt for _, prompt, _ in rows])
    body = []
    for (split, _, weights), text in zip(rows, short, strict=True):
        w = torch.tensor(weights)
        body.append([split, text, *[round(x, 3) for x in weights], objectives[int(w.argmax())],
                     round(float(entropy(w)), 3)])  # fmt: skip
    columns = ["split", "prompt", *objectives, "top", "entropy"]
    return {"title": "Inferred weights w(x), example prompts", "columns": columns, "rows": body}


def kl_to(targets: torch.Tensor, weights: torch.Tensor) -> float:
    return float(preference_adapter_kl(targets, weights.clamp(min=1e-12).log()).mean())


# --- E9 on held-out records ------------------------------------------------------------------------


def response_logps(inputs, scored: list[ScoredRecord], adapter_disabled: bool):
    """Per record: (summed log π(y|x), token counts) of each scored response, two responses per row."""
    t, recipe = inputs.recipe.training, inputs.recipe
    tokenizer = PairTokenizer(
        inputs.tokenizer, max_length=t.max_length, max_prompt_length=t.max_prompt_length,
        use_chat_template=recipe.model.use_chat_template,
    )  # fmt: skip
    rows, where = [], []
    for r, s in enumerate(scored):
        texts = [s.record.responses[i] for i in s.indices]
        texts += texts[:1] if len(texts) % 2 else []  # an odd count repeats the first; read once
        for a in range(0, len(texts), 2):
            rows.append(
                tokenizer(PreferencePair(prompt=s.record.prompt, chosen=texts[a], rejected=texts[a + 1]))
            )
            where.append((r, a))
    logps, counts = score_pairs(inputs.model, rows, pad_id=inputs.tokenizer.pad_token_id,
                                precision=inputs.precision, adapter_disabled=adapter_disabled)  # fmt: skip
    out = [(torch.zeros(len(s.indices)), torch.zeros(len(s.indices))) for s in scored]
    for (r, a), lp, n in zip(where, logps, counts, strict=True):
        for offset in (0, 1):
            if a + offset < len(scored[r].indices):
                out[r][0][a + offset], out[r][1][a + offset] = lp[offset], n[offset].float()
    return out


def choice_table(units: list[torch.Tensor], picks: dict[str, list[int]], objectives: list[str]) -> dict:
    """Mean [0, 1] score per objective of the picked responses, their equal-weight mean and the mean of
    each pick's worst objective (E9's worst-objective reward); "average response" for reference."""
    rules = {
        name: torch.stack([u[i] for u, i in zip(units, idx, strict=True)]) for name, idx in picks.items()
    }
    rules["average response"] = torch.stack([u.mean(dim=0) for u in units])
    rows = []
    for name, chosen in rules.items():
        worst = chosen.min(dim=1).values.mean() if name != "average response" else torch.stack(
            [u.min(dim=1).values.mean() for u in units]).mean()  # fmt: skip
        rows.append([name, *[round(float(v), 3) for v in chosen.mean(dim=0)], round(float(chosen.mean()), 3),
                     round(float(worst), 3)])  # fmt: skip
    return {"title": "E9: objective scores of the response each rule picks (held-out, [0, 1])",
            "columns": ["pick", *objectives, "mean", "worst objective"], "rows": rows}  # fmt: skip


def pair_accuracy(order: list[torch.Tensor], score: list[torch.Tensor], min_gap: float) -> tuple[float, int]:
    """Share of response pairs (gap in `order` ≥ min_gap) that `score` orders the same way; (acc, pairs)."""
    hits, total = 0, 0
    for o, s in zip(order, score, strict=True):
        for a in range(len(o)):
            for b in range(a + 1, len(o)):
                gap = float(o[a] - o[b])
                if abs(gap) + 1e-9 >= min_gap and gap != 0:
                    total += 1
                    hits += int((float(s[a] - s[b]) > 0) == (gap > 0))
    return (hits / total if total else float("nan")), total


# Metric key of each pick rule (the run's metrics are flat names).
PICK_KEYS = {
    "base model (top log-prob per token)": "base",
    "adapter (top log-prob per token)": "adapter_logprob",
    "adapter (top implicit reward)": "adapter_reward",
    "data: best by equal weights": "data_best_equal",
    "data: best by inferred w(x)": "data_best_inferred",
    "average response": "average",
}


def _picks(scored, passes, weights, normalizer) -> dict[str, list[int]]:
    per_token = lambda lp, n: lp / n.clamp(min=1)  # noqa: E731 - the E1 length-normalized score
    inferred = [scalarized_rewards(w, normalizer(s.unit)) for s, w in zip(scored, weights, strict=True)]
    picks = [
        [int(per_token(*b).argmax()) for b, _ in passes],
        [int(per_token(*p).argmax()) for _, p in passes],
        [int((p[0] - b[0]).argmax()) for b, p in passes],
        [int(s.unit.mean(dim=1).argmax()) for s in scored],
        [int(r.argmax()) for r in inferred],
    ]
    return dict(zip(PICK_KEYS, picks, strict=False))


def e9(runner, inputs, scored, weights) -> tuple[dict, dict[str, float]]:
    """The E9 tables and their headline metrics; two passes over the held-out responses."""
    objectives, normalizer = runner.adapter.objectives, runner.adapter.normalizer
    passes = list(
        zip(response_logps(inputs, scored, True), response_logps(inputs, scored, False), strict=True)
    )
    units = [s.unit for s in scored]
    choices = choice_table(units, _picks(scored, passes, weights, normalizer), objectives)
    implicit = [runner.beta * (p[0] - b[0]) for b, p in passes]
    rows, metrics = [], {}
    for i, name in enumerate(objectives):
        acc, n = pair_accuracy([u[:, i] for u in units], implicit, DEFAULT_SCORE_GAP)
        base_acc, _ = pair_accuracy([u[:, i] for u in units], [b[0] for b, _ in passes], DEFAULT_SCORE_GAP)
        policy_acc, _ = pair_accuracy([u[:, i] for u in units], [p[0] for _, p in passes], DEFAULT_SCORE_GAP)
        rows.append([name, n, round(acc, 3), round(base_acc, 3), round(policy_acc, 3)])
        metrics[f"pro_e9_reward_accuracy_{name}"] = acc
    weighted = [scalarized_rewards(w, normalizer(s.unit)) for s, w in zip(scored, weights, strict=True)]
    acc, n = pair_accuracy(weighted, implicit, runner.spec.min_gap)
    rows.append(["R with inferred w(x)", n, round(acc, 3), "-", "-"])
    metrics["pro_e9_reward_accuracy_weighted_pairs"] = acc
    metrics["pro_e9_worst_objective_reward_accuracy"] = min(
        metrics[f"pro_e9_reward_accuracy_{name}"] for name in objectives
    )
    for row in choices["rows"]:
        key = PICK_KEYS[row[0]]
        metrics[f"pro_e9_{key}_mean"], metrics[f"pro_e9_{key}_worst"] = row[-2], row[-1]
    accuracy = {
        "title": "E9: held-out pairs ordered by one objective (gap ≥ 0.1) or by R: implicit-reward "
        "accuracy, and log-prob ranking accuracy of base and adapter",
        "columns": ["ordered by", "pairs", "implicit-reward accuracy", "base ranking", "adapter ranking"],
        "rows": rows,
    }
    return {"choices": choices, "accuracy": accuracy}, metrics


# --- the section -----------------------------------------------------------------------------------


def _heldout_weights(runner, inputs, scored) -> tuple[torch.Tensor, torch.Tensor]:
    from workers.methods.pro import PromptWeights, prompt_encoder

    adapter, prompts = runner.adapter, [s.record.prompt for s in scored]
    targets = adapter_targets(
        torch.stack([adapter.normalizer(s.unit)[s.preferred] for s in scored]), adapter.temperature
    )
    if adapter.override:
        weights = adapter.override_weights().expand(len(prompts), -1).clone()
    else:
        encoder = prompt_encoder(adapter.encoder["kind"], inputs.recipe, inputs.model, inputs.tokenizer)
        weights = adapter.weights_from_embeddings(encode_prompts(encoder, prompts))
    runner.heldout_weights = PromptWeights(prompts, targets, weights)
    return targets, weights


def _fit_summary(runner, heldout_targets, heldout_weights) -> dict[str, Any]:
    train = runner.train_weights
    mean_target = train.targets.mean(dim=0, keepdim=True)
    fit = runner.fit
    return {
        "kl_train": kl_to(train.targets, train.weights),
        "kl_heldout": kl_to(heldout_targets, heldout_weights),
        "kl_train_average_weights": kl_to(train.targets, mean_target.expand_as(train.targets)),
        "kl_heldout_average_weights": kl_to(heldout_targets, mean_target.expand_as(heldout_targets)),
        "epochs_kept": fit.epochs if fit else 0,
        "validation_prompts": fit.validation_prompts if fit else 0,
        "target_entropy_mean": float(entropy(train.targets).mean()),
    }


def _records(table: dict[str, Any]) -> list[dict[str, Any]]:
    """A {columns, rows} table as the list of row dicts the generic report renderers draw as a table."""
    return [dict(zip(table["columns"], row, strict=True)) for row in table["rows"]]


def _weights_tables(train, heldout_weights, objectives) -> tuple[dict, dict[str, list]]:
    """(summary over every prompt, tables by split): entropy, top objectives, per-objective spread."""
    sides = {
        "train w(x)": train.weights,
        "held-out w(x)": heldout_weights,
        "train targets t(x)": train.targets,
    }
    by_split, tops = [], []
    for name, weights in sides.items():
        summary = weight_summary(weights, objectives)
        flat = {k: v for k, v in summary.items() if k not in ("per_objective", "top_objective_counts")}
        by_split.append({"prompt set": name} | flat)
        tops.append({"prompt set": name} | summary["top_objective_counts"])
    everything = weight_summary(torch.cat([train.weights, heldout_weights]), objectives)
    spread = [{"objective": name} | values for name, values in everything["per_objective"].items()]
    return everything, {"weights_by_prompt_set": by_split, "top_objective_counts": tops,
                        "weights_per_objective_all_prompts": spread}  # fmt: skip


def pro_report(runner, inputs) -> dict[str, Any]:
    objectives = runner.adapter.objectives
    scored = scored_records(inputs.split.records_of(inputs.split.heldout), objectives, runner.levels)
    if not scored:
        return {"section": {"title": "PRO — Preference Orchestrator", "note": "no scored held-out records"}}
    targets, weights = _heldout_weights(runner, inputs, scored)
    train = runner.train_weights
    summary, weight_tables = _weights_tables(train, weights, objectives)
    fit = _fit_summary(runner, targets, weights)
    tables, e9_metrics = e9(runner, inputs, scored, weights)
    half = EXAMPLE_ROWS // 2
    examples = [("heldout", s.record.prompt, w) for s, w in zip(scored, weights.tolist(), strict=False)][
        :half
    ]
    examples += [("train", p, w) for p, w in zip(train.prompts, train.weights.tolist(), strict=True)]
    section = {
        "title": "PRO — Preference Orchestrator: inferred weights and E9",
        "weights_source": "weights_override (fixed)" if runner.adapter.override else "preference adapter",
        "objectives": ", ".join(objectives),
        "training_pairs": runner.pair_count,
        "adapter_fit": fit,
        **weight_tables,
        "example_prompts_and_weights": _records(example_table(examples, objectives)),
        "e9_objective_scores_of_the_picked_response": _records(tables["choices"]),
        "e9_heldout_pairs_by_objective": _records(tables["accuracy"]),
    }
    metrics = {
        "pro_weight_entropy_mean": summary["entropy_mean"],
        "pro_weight_entropy_min": summary["entropy_min"],
        "pro_weight_entropy_max": summary["entropy_max"],
        "pro_weight_entropy_uniform": summary["entropy_uniform"],
        "pro_top_objectives_distinct": float(summary["top_objectives_distinct"]),
        "pro_adapter_kl_heldout": fit["kl_heldout"],
        "pro_adapter_kl_heldout_average_weights": fit["kl_heldout_average_weights"],
        "pro_train_pairs": float(runner.pair_count),
    } | e9_metrics
    return {"metrics": metrics, "section": section}
