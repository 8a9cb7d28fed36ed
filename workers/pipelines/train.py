"""The training pipeline: recipe → data → LoRA training → held-out evaluation → adapter + report."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import TrainingArguments
from transformers.trainer_callback import PrinterCallback

from recipes.io import recipe_hash
from workers import modeling
from workers.adapter_io import library_versions, save_adapter
from workers.batching import length_grouped_batches, padding_share
from workers.data import load_and_split
from workers.errors import UserFacingError
from workers.evaluators import ChesCollector, drop_top_fraction
from workers.methods import RUNNERS
from workers.methods.base import EvaluationInputs, TrainingInputs
from workers.pipelines.evaluate import (
    ches_report,
    heldout_metrics,
    kl_metrics,
    perplexity_delta,
    win_rate_report,
)
from workers.precision import device, evaluation_precision, training_precision
from workers.progress import RunCancelled
from workers.rationale import require_rationales
from workers.report import write_report
from workers.scoring import score_pairs
from workers.tokenization import PairTokenizer, Tokenized
from workers.trainer import PreferenceTrainer, ProgressCallback


@dataclass
class TrainResult:
    metrics: dict[str, Any]
    artifacts: dict[str, Path] = field(default_factory=dict)
    data_report: dict[str, Any] = field(default_factory=dict)


def _tokens(tokenized: Tokenized) -> int:
    """Tokens one epoch feeds the model (prompt-shared rows: the prompt counts once per pair)."""
    return sum(p.length for p in tokenized.pairs)


def _training_args(recipe, out_dir: Path, precision: str, dev: torch.device) -> TrainingArguments:
    t = recipe.training
    return TrainingArguments(
        output_dir=str(out_dir / "checkpoints"),
        per_device_train_batch_size=t.batch_size,
        gradient_accumulation_steps=t.gradient_accumulation,
        learning_rate=t.learning_rate,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps or -1,
        lr_scheduler_type=t.lr_scheduler,
        warmup_steps=t.warmup_fraction,  # transformers 5: a float in [0, 1) is a fraction of the steps
        logging_steps=t.logging_steps,
        save_strategy="no",
        report_to=[],
        seed=t.seed,
        bf16=precision == "bf16",
        use_cpu=dev.type == "cpu",
        gradient_checkpointing=False,  # small models on CPU: recomputation costs more than it saves
        remove_unused_columns=False,
        disable_tqdm=True,
        dataloader_num_workers=0,
    )


def _load_model(recipe, dev: torch.device):
    path = modeling.resolve_model(recipe.model.name_or_path, recipe.model.revision)
    tokenizer = modeling.load_tokenizer(path, recipe.model.revision)
    base = modeling.load_base_model(path, recipe.model.dtype, recipe.model.revision)
    return path, tokenizer, modeling.apply_lora(base, recipe.model.lora).to(dev)


def _tokenize(recipe, tokenizer, split):
    t = recipe.training
    pair_tokenizer = PairTokenizer(
        tokenizer,
        max_length=t.max_length,
        max_prompt_length=t.max_prompt_length,
        use_chat_template=recipe.model.use_chat_template,
    )
    train = pair_tokenizer.many(split.train)
    heldout_pairs = (
        split.heldout[: recipe.evaluation.max_pairs] if recipe.evaluation.max_pairs else split.heldout
    )
    heldout = pair_tokenizer.many(heldout_pairs)
    if not train.pairs:
        raise UserFacingError("no training pair left after tokenization: raise training.max_length")
    if not heldout.pairs:
        raise UserFacingError("no held-out pairs: raise training.heldout_fraction or set data.heldout_path")
    soft_labels = [heldout_pairs[i].soft_label for i in heldout.kept]
    return train, heldout, soft_labels


def _train(recipe, model, tokenizer, train: Tokenized, ref_logps, out_dir, precision, dev, progress, split):
    runner = RUNNERS[recipe.method.method](recipe.method)
    callback = ProgressCallback(progress)
    inputs = TrainingInputs(recipe, tokenizer, train, ref_logps, split.train, split, model, precision)
    dataset, collator = runner.training_data(inputs)
    if dataset is None:  # a selection-only method (RPS without its training stage)
        return model, _no_training_stats(precision), [], runner
    trainer = PreferenceTrainer(
        model=model,
        args=_training_args(recipe, out_dir, precision, dev),
        train_dataset=dataset,
        data_collator=collator,
        callbacks=[callback],
        runner=runner,
    )
    trainer.remove_callback(PrinterCallback)  # progress goes to the run's events, not to stdout
    started = time.perf_counter()
    output = trainer.train()
    seconds = time.perf_counter() - started
    if callback.cancelled:
        raise RunCancelled("cancelled during training")
    model = trainer.accelerator.unwrap_model(trainer.model, keep_fp32_wrapper=False)  # §0.5 autocast trap
    epochs_done = trainer.state.epoch or 0.0
    stats = {
        "train_seconds": seconds,
        "steps": trainer.state.global_step,
        "epochs": epochs_done,
        "final_train_loss": output.training_loss,
        "precision": precision,
        "pairs_per_second": epochs_done * len(train.pairs) / seconds,
        "tokens_per_second": epochs_done * _tokens(train) / seconds,
    }
    return model, stats, callback.curves, runner


def _no_training_stats(precision: str) -> dict[str, Any]:
    return {"train_seconds": 0.0, "steps": 0, "epochs": 0.0, "final_train_loss": float("nan"),
            "precision": precision, "pairs_per_second": 0.0, "tokens_per_second": 0.0}  # fmt: skip


def _phase_reporter(progress, phase: str):
    """Reports a long no-grad pass in about ten messages and stops it on cancel."""

    def report(done: int, total: int) -> None:
        if progress.should_stop():  # these passes take minutes on a CPU: honour a cancel between batches
            raise RunCancelled(f"cancelled during {phase}")
        if done == total or done % max(total // 10, 1) == 0:
            progress.message(f"{phase}: {done}/{total} batches")

    return report


def _score(
    model, tokenizer, pairs, progress, phase: str, precision: str, adapter_disabled=False, on_hidden=None
):
    return score_pairs(
        model,
        pairs,
        pad_id=tokenizer.pad_token_id,
        precision=precision,
        adapter_disabled=adapter_disabled,
        on_batch=_phase_reporter(progress, phase),
        on_hidden=on_hidden,
    )


def _save_outputs(recipe, model, tokenizer, out_dir: Path, base_path, metrics, report_parts) -> dict:
    hash_ = recipe_hash(recipe)
    adapter_dir = save_adapter(
        model,
        tokenizer,
        out_dir / "adapter",
        recipe=recipe,
        recipe_hash=hash_,
        base_path=str(base_path),
        metrics=metrics,
    )
    reports = write_report(
        out_dir,
        {
            "recipe_name": recipe.name,
            "recipe_hash": hash_,
            "method": recipe.method.method,
            "base_model": recipe.model.name_or_path,
            "confidence_level": recipe.evaluation.confidence_level,
            "metrics": metrics,
            **report_parts,
            "versions": library_versions(),
        },
    )
    return {"adapter": adapter_dir, **reports}


@dataclass
class ReferencePasses:
    """What the no-grad passes before training produce (adapter off)."""

    ref_train: torch.Tensor
    base_heldout: torch.Tensor
    heldout_lengths: torch.Tensor
    train_ches: ChesCollector
    heldout_ches: ChesCollector
    seconds: float


def _needs_training_pass(recipe) -> bool:
    """Reference log-probs of the training pairs feed the loss (DPO-like methods) and E5's data check;
    a method without a reference (listwise ranking, RPS) skips the pass unless CHES is asked for."""
    needs_reference = RUNNERS[recipe.method.method].needs_reference
    wants_ches = "ches" in recipe.evaluation.metrics or recipe.training.drop_top_ln_ches > 0
    return needs_reference or wants_ches


def _reference_passes(
    model, tokenizer, train, heldout, progress, precision, eval_precision, training_pass: bool = True
) -> ReferencePasses:
    started = time.perf_counter()
    train_ches, heldout_ches = ChesCollector(len(train.pairs)), ChesCollector(len(heldout.pairs))
    ref_train = torch.zeros(len(train.pairs), 2)
    if training_pass:
        ref_train, _ = _score(model, tokenizer, train.pairs, progress, "reference log-probs (training pairs)",
                              precision, adapter_disabled=True, on_hidden=train_ches)  # fmt: skip
    base_heldout, lengths = _score(model, tokenizer, heldout.pairs, progress, "base model on held-out pairs",
                                   eval_precision, adapter_disabled=True, on_hidden=heldout_ches)  # fmt: skip
    return ReferencePasses(
        ref_train, base_heldout, lengths, train_ches, heldout_ches, time.perf_counter() - started
    )


def _drop_high_ches(
    recipe, train: Tokenized, passes: ReferencePasses
) -> tuple[Tokenized, torch.Tensor, list[int]]:
    """The E5 data filter: without the top `drop_top_ln_ches` share of training pairs by LN-CHES."""
    kept = drop_top_fraction(passes.train_ches.ln_ches, recipe.training.drop_top_ln_ches)
    if len(kept) == len(train.pairs):
        return train, passes.ref_train, kept
    if not kept:
        raise UserFacingError("training.drop_top_ln_ches dropped every training pair: lower it")
    subset = Tokenized([train.pairs[i] for i in kept], [train.kept[i] for i in kept],
                       train.dropped_identical_after_truncation)  # fmt: skip
    return subset, passes.ref_train[kept], kept


def _generation_metrics(recipe, model, tokenizer, heldout, passes, policy, precision, progress) -> dict:
    """E7 (samples from the adapter) and E8 (general-text perplexity), when the recipe asks for them."""
    out: dict[str, float] = {}
    wanted = recipe.evaluation.metrics
    if "kl" in wanted:
        progress.message(f"KL to the reference on {recipe.evaluation.kl_prompts} sampled answers")
        out |= kl_metrics(recipe, model, tokenizer, [p.prompt_ids for p in heldout.pairs], precision)
    if "perplexity" in wanted:
        chosen = ((passes.base_heldout[:, 0].tolist(), passes.heldout_lengths[:, 0].tolist()),
                  (policy[:, 0].tolist(), passes.heldout_lengths[:, 0].tolist()))  # fmt: skip
        reporter = _phase_reporter(progress, "general-text perplexity")
        out |= perplexity_delta(recipe, model, tokenizer, precision, reporter, chosen)
    return out


def run_recipe(recipe, out_dir: Path, progress) -> TrainResult:
    """Runs one recipe end to end; raises UserFacingError for fixable problems, RunCancelled on cancel."""
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(recipe.training.seed)
    dev = device()
    ev = recipe.evaluation
    judge_fraction = ev.judge_fraction if "win_rate" in ev.metrics else 0.0
    split = load_and_split(
        recipe.data, recipe.training.heldout_fraction, recipe.training.seed, judge_fraction
    )
    progress.message(f"data: {len(split.train)} training pairs, {len(split.heldout)} held-out pairs")
    if getattr(recipe.method, "rationale", None):
        require_rationales(split.train)  # fail before minutes of reference passes, not after
    base_path, tokenizer, model = _load_model(recipe, dev)
    all_train, heldout, soft_labels = _tokenize(recipe, tokenizer, split)
    precision, eval_precision = training_precision(recipe.training.precision, dev), evaluation_precision(dev)
    training_pass = _needs_training_pass(recipe)
    passes = _reference_passes(
        model, tokenizer, all_train, heldout, progress, precision, eval_precision, training_pass
    )
    train, ref_train, kept = _drop_high_ches(recipe, all_train, passes)
    if progress.should_stop():
        raise RunCancelled("cancelled before training")
    model, stats, curves, runner = _train(
        recipe, model, tokenizer, train, ref_train, out_dir, precision, dev, progress, split
    )
    started = time.perf_counter()
    policy = _score(model, tokenizer, heldout.pairs, progress, "adapter on held-out pairs", eval_precision)[0]
    metrics = heldout_metrics(
        recipe, soft_labels, passes.base_heldout, policy, passes.heldout_lengths, beta=runner.beta
    )
    metrics |= _generation_metrics(
        recipe, model, tokenizer, heldout, passes, policy, eval_precision, progress
    )
    if "win_rate" in ev.metrics:
        progress.message(f"win rate against the base on up to {ev.win_rate_prompts} held-out prompts")
        metrics |= win_rate_report(recipe, model, tokenizer, split, out_dir)
    ches = (
        ches_report(passes.train_ches.ln_ches, kept, passes.heldout_ches.ln_ches, passes.base_heldout, policy)
        if training_pass
        else {"skipped": "this method needs no reference pass over the training pairs and CHES was not "
              "asked for", "dropped_pairs": 0}
    )  # fmt: skip
    batches = length_grouped_batches([p.length for p in train.pairs], recipe.training.batch_size, 0)
    stats |= {
        "reference_seconds": passes.seconds,
        "evaluation_seconds": time.perf_counter() - started,
        "padding_share": padding_share(train.pairs, batches),
        "train_pairs": len(train.pairs),
    }
    metrics |= {
        k: stats[k] for k in ("tokens_per_second", "pairs_per_second", "train_seconds", "final_train_loss")
    }
    metrics["ches_dropped_pairs"] = float(ches["dropped_pairs"])
    method_report = runner.report(
        EvaluationInputs(recipe, tokenizer, model, split, heldout, eval_precision, out_dir, progress)
    )
    metrics |= method_report.get("metrics", {})
    dropped = all_train.dropped_identical_after_truncation + heldout.dropped_identical_after_truncation
    data_report = split.report | {"dropped_identical_after_truncation": dropped}
    parts = {"data": data_report, "training": stats, "curves": curves, "ches": ches}
    if method_report.get("section"):
        parts["method_report"] = method_report["section"]
    artifacts = _save_outputs(recipe, model, tokenizer, out_dir, base_path, metrics, parts)
    artifacts |= runner.save_extras(out_dir)
    return TrainResult(metrics, artifacts, data_report)
