"""E9 for an RPS run: RPS against the same-compute baseline on held-out prompts, judged by the judge.

Per held-out prompt and target direction: RPS keeps the best (by the selection reward model, along the
target) of one sample from each of its k neighbour directions; the baseline keeps the best of k samples
conditioned on the target itself. The judge, fitted on prompts nobody else used, scores both picks
along the target. Every sample, both picks and all scores are written to rps/evaluation_samples.jsonl.
"""

from __future__ import annotations

import json
import math
import statistics
from typing import Any

from workers.directions import in_coverage, projected
from workers.evaluators.directional import Comparison, controllability, directional_metrics, per_direction
from workers.evaluators.stats import spearman
from workers.rps_selection import SamplePlan, baseline_keys, draw_samples, pick, rps_keys, score_samples


def _prompts_of(records, limit: int) -> list[str]:
    return list(dict.fromkeys(r.prompt for r in records))[:limit]


def _plan(spec, prompts: list[str]) -> tuple[SamplePlan, dict[tuple[int, float], tuple[list, list]]]:
    plan, pools = SamplePlan(), {}
    for p in range(len(prompts)):
        for target in spec.eval_directions_deg:
            pools[(p, target)] = (rps_keys(plan, spec, p, target), baseline_keys(plan, spec, p, target))
    return plan, pools


def _comparisons(spec, pools, selection, judge) -> tuple[list[Comparison], list[dict]]:
    comparisons, picks = [], []
    for (p, target), (rps, baseline) in pools.items():
        rps_pick, base_pick = pick(rps, selection, target), pick(baseline, selection, target)
        covered = in_coverage(target, spec.coverage_min_deg, spec.coverage_max_deg)
        comparisons.append(Comparison(p, target, projected(judge[rps_pick], target),
                                      projected(judge[base_pick], target), covered))  # fmt: skip
        picks.append(
            {"prompt": p, "target_deg": target, "rps_pick": list(rps_pick), "baseline_pick": list(base_pick)}
        )
    return comparisons, picks


def _controllability(spec, pools, judge) -> float:
    """Do the baseline's raw samples move in the requested direction? (centre: the mean of all samples)"""
    every = list(judge.values())
    centre = (statistics.fmean(s[0] for s in every), statistics.fmean(s[1] for s in every))
    means = []
    for target in spec.eval_directions_deg:
        scores = [judge[key] for (p, t), (_, base) in pools.items() if t == target for key in base]
        means.append((statistics.fmean(s[0] for s in scores), statistics.fmean(s[1] for s in scores)))
    return controllability(spec.eval_directions_deg, means, centre)


def _neighbour_gain(spec, pools, judge, covered: bool) -> float:
    """RPS's premise, measured: mean over prompts and targets (in or out of the coverage) of the judge's
    projected reward of the neighbours' samples minus that of the target's own samples, before any
    selection. Near 0, the model answers an under-represented direction as well as its neighbours and
    no selection rule can make RPS beat the baseline."""
    gains = []
    for (_, target), (rps, baseline) in pools.items():
        if in_coverage(target, spec.coverage_min_deg, spec.coverage_max_deg) != covered:
            continue
        gains.append(statistics.fmean(projected(judge[k], target) for k in rps)
                     - statistics.fmean(projected(judge[k], target) for k in baseline))  # fmt: skip
    return statistics.fmean(gains) if gains else math.nan


def _agreement(selection, judge) -> float:
    """Spearman of selection vs judge along 0° over all samples: RPS cannot beat the baseline in the
    judge's eyes when the two reward models disagree, so the report shows how much they agree."""
    keys = list(selection)
    if len(keys) < 3:
        return math.nan
    return spearman([projected(selection[k], 0.0) for k in keys], [projected(judge[k], 0.0) for k in keys])


def human_agreement(records, objectives, reward_model) -> dict[str, float]:
    """Per objective, the mean over prompts of Spearman(reward model, human scores) across that prompt's
    rated replies: does the model rank one prompt's replies as people did? (what selection needs; NaN if
    no prompt has two replies with different scores)"""
    prompts = [r.prompt for r in records for _ in r.responses]
    scored = reward_model.score(prompts, [text for r in records for text in r.responses])
    out = {}
    for objective in objectives:
        per_prompt, offset = [], 0
        for record in records:
            human = (record.objective_scores or {}).get(objective, {})
            rated = sorted(human)
            if len(rated) > 1:
                model_scores = [scored[objective][offset + i] for i in rated]
                per_prompt.append(spearman([human[i] for i in rated], model_scores))
            offset += len(record.responses)
        per_prompt = [rho for rho in per_prompt if not math.isnan(rho)]
        out[objective] = statistics.fmean(per_prompt) if per_prompt else math.nan
    return out


def _human_checks(spec, records, selection_model, judge_model) -> dict[str, float]:
    """Both reward models against the held-out replies' human scores (prompts neither was fitted on)."""
    out = {}
    for role, model in (("selection", selection_model), ("judge", judge_model)):
        for objective, rho in human_agreement(records, spec.objectives, model).items():
            out[f"rps_{role}_human_spearman_{objective}"] = rho
    return out


def _write_samples(path, prompts, samples, selection, judge, picks) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        for key, text in samples.items():
            row = {"pool": key[0], "prompt": prompts[key[1]][-200:], "direction_deg": key[2], "draw": key[3],
                   "text": text, "selection": list(selection[key]), "judge": list(judge[key])}  # fmt: skip
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        for row in picks:
            handle.write(json.dumps({"pick": row}) + "\n")


def evaluate_directions(spec, inputs, selection_model, judge_model) -> dict[str, Any]:
    heldout = inputs.split.records_of(inputs.split.heldout)
    prompts = _prompts_of(heldout, spec.eval_prompts)
    if not prompts:
        return {}
    plan, pools = _plan(spec, prompts)
    if inputs.progress is not None:
        inputs.progress.message(
            f"RPS vs baseline: {len(plan.keys)} samples for {len(prompts)} held-out prompts "
            f"× {len(spec.eval_directions_deg)} directions"
        )
    samples = draw_samples(
        inputs.model, inputs.tokenizer, spec, prompts, plan, seed=inputs.recipe.training.seed,
        use_chat_template=inputs.recipe.model.use_chat_template,
        max_prompt_length=inputs.recipe.training.max_prompt_length,
    )  # fmt: skip
    selection = score_samples(selection_model, spec.objectives, prompts, samples)
    judge = score_samples(judge_model, spec.objectives, prompts, samples)
    comparisons, picks = _comparisons(spec, pools, selection, judge)
    metrics = directional_metrics(comparisons, inputs.recipe.evaluation.confidence_level)
    metrics |= {"rps_controllability_spearman": _controllability(spec, pools, judge),
                "rps_selection_judge_spearman": _agreement(selection, judge),
                "rps_eval_prompts": float(len(prompts)), "rps_generations": float(len(samples))}  # fmt: skip
    metrics |= _human_checks(spec, heldout, selection_model, judge_model)
    metrics |= {"rps_ood_neighbour_gain": _neighbour_gain(spec, pools, judge, covered=False),
                "rps_id_neighbour_gain": _neighbour_gain(spec, pools, judge, covered=True)}  # fmt: skip
    _write_samples(
        inputs.out_dir / "rps" / "evaluation_samples.jsonl", prompts, samples, selection, judge, picks
    )
    section = {
        "title": "RPS against the same-compute baseline (E9)",
        "summary": {k: v for k, v in metrics.items() if k.startswith("rps_")},
        "per_direction": per_direction(comparisons, inputs.recipe.evaluation.confidence_level),
        "coverage_deg": [spec.coverage_min_deg, spec.coverage_max_deg],
        "judge": "ridge heads on the base model's mean-pooled hidden states (adapter off)"
        + (" and the reply's text features" if spec.reward_text_features else "")
        + ", fitted on prompts set aside from training and selection; rps_*_human_spearman_* say how "
        "well the judge and the selection model rank the held-out prompts' rated replies as people did",
    }
    return {"metrics": metrics, "section": section}
