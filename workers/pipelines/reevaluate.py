"""`studio eval`: a finished run's saved adapter evaluated again on its held-out pairs (methods.md §7).

The run's frozen recipe snapshot gives the data, the seed and the judge share, and the split is
deterministic (`workers.data.load_and_split`), so the held-out pairs are the ones training evaluated
on. The adapter is loaded with peft on its base model. As in `workers.pipelines.train`, one base pass
(adapter off) and one policy pass (adapter on) over the held-out pairs feed E1-E4 and the in-domain
half of E8, and every metric comes from the function the training pipeline calls (one implementation
per metric). The report goes to `<run>/evaluations/<id>/report.{json,md,html}`; progress and the
outcome are events of the run, whose status never changes. `execute` is the task boundary and the
only place here that catches.
"""

from __future__ import annotations

import logging
import re
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from recipes.errors import RecipeError
from recipes.evaluation import METHOD_METRICS, resolve_suite
from recipes.io import parse_recipe, recipe_hash
from store import runs, settings
from store.errors import RunNotFound
from store.tables import RunStatus
from workers import modeling
from workers.adapter_io import library_versions
from workers.data import load_and_split
from workers.errors import UserFacingError
from workers.lifecycle import internal_error_line, recipe_error_line, worker_name
from workers.methods import RUNNERS
from workers.methods.base import EvaluationInputs
from workers.pipelines.evaluate import ches_report, heldout_metrics, win_rate_report
from workers.pipelines.train import _drop_high_ches, _generation_metrics, _reference_passes, _score, _tokenize
from workers.precision import device, evaluation_precision, training_precision
from workers.report import write_report

log = logging.getLogger(__name__)

EVALUATIONS_DIR = "evaluations"
LOG_FILE = "evaluation.log"
ID_FORMAT = "%Y%m%dT%H%M%SZ"
ID_PATTERN = re.compile(r"^\d{8}T\d{6}Z$")  # the id names a folder: nothing else may get through
# Metrics read from the held-out scoring passes; a suite with none of them skips those passes.
PASS_METRICS = {"ranking_accuracy", "reward_accuracy", "idealized_accuracy", "drift", "ches", "perplexity"}
# `heldout_metrics` returns E1-E4 in one dict; E2 and E4 keys are kept only when asked for. E1 and E3
# come from one function over the same pairs and are always reported together.
KEY_PREFIXES = {"idealized_accuracy": "e2_", "drift": "e4_"}


def new_evaluation_id() -> str:
    """A UTC timestamp, e.g. 20261127T183012Z: sortable, and the name of the evaluation's folder."""
    return datetime.now(UTC).strftime(ID_FORMAT)


@dataclass
class Evaluation:
    id: str
    suite: list[str]
    metrics: dict[str, Any]
    artifacts: dict[str, Path] = field(default_factory=dict)


class EvaluationProgress:
    """One evaluation's progress as events of the run it evaluates, tagged with the evaluation's id.

    Never asks to stop: the run is finished, so its cancel flag says nothing about this evaluation.
    """

    def __init__(self, run_id: str, evaluation_id: str) -> None:
        self.run_id, self.evaluation_id = run_id, evaluation_id

    def on_log(self, step, total, loss=None, metrics=None) -> None:
        return None  # no training steps here

    def message(self, text: str) -> None:
        self.event(f"evaluation {self.evaluation_id}: {text}")

    def event(self, text: str, **extra: Any) -> None:
        runs.append_event(self.run_id, message=text, metrics={"evaluation_id": self.evaluation_id, **extra})

    def should_stop(self) -> bool:
        return False


@dataclass
class Context:
    """The run's data and model, rebuilt as training had them."""

    recipe: Any
    split: Any
    tokenizer: Any
    model: Any
    train: Any  # tokenized training pairs (before the E5 filter)
    heldout: Any
    soft_labels: list
    precision: str  # training precision: the E5 pass over training pairs ran in it
    eval_precision: str


def load_context(recipe, adapter_dir: Path, progress) -> Context:
    """The deterministic split, the tokenized pairs and the base model with the run's adapter."""
    from peft import PeftModel  # only the worker process that evaluates pays for the import

    torch.manual_seed(recipe.training.seed)
    dev, ev = device(), recipe.evaluation
    # The judge share is carved out before the held-out split: use the run's own setting, not the suite's.
    judge_fraction = ev.judge_fraction if "win_rate" in ev.metrics else 0.0
    t = recipe.training
    split = load_and_split(recipe.data, t.heldout_fraction, t.seed, judge_fraction)
    progress.message(f"data: {len(split.train)} training pairs, {len(split.heldout)} held-out pairs")
    path = modeling.resolve_model(recipe.model.name_or_path, recipe.model.revision)
    tokenizer = modeling.load_tokenizer(path, recipe.model.revision)
    base = modeling.load_base_model(path, recipe.model.dtype, recipe.model.revision)
    model = PeftModel.from_pretrained(base, str(adapter_dir)).to(dev)
    model.eval()
    train, heldout, soft_labels = _tokenize(recipe, tokenizer, split)
    precision = training_precision(recipe.training.precision, dev)
    return Context(recipe, split, tokenizer, model, train, heldout, soft_labels, precision,
                   evaluation_precision(dev))  # fmt: skip


def evaluate_run(
    recipe, run_dir: Path, adapter_dir: Path, suite: list[str] | None, progress, evaluation_id=None
) -> Evaluation:
    """Evaluate the adapter of the run in `run_dir` with `suite` (None: the recipe's own metrics)."""
    try:
        suite = resolve_suite(suite, recipe.method.method, list(recipe.evaluation.metrics))
    except ValueError as exc:
        raise UserFacingError(str(exc)) from None
    if not suite:
        raise UserFacingError("nothing to evaluate: the recipe lists no metric; pass --suite")
    if not (adapter_dir / "adapter_config.json").is_file():
        raise UserFacingError(f"no PEFT adapter in {adapter_dir}: the run's adapter folder is incomplete")
    evaluation_id = evaluation_id or new_evaluation_id()
    out_dir = run_dir / EVALUATIONS_DIR / evaluation_id
    out_dir.mkdir(parents=True, exist_ok=True)  # a redelivered task rewrites its own folder
    started = time.perf_counter()
    ctx = load_context(recipe, adapter_dir, progress)
    metrics, ches, kept = _pass_metrics(ctx, suite, progress)
    metrics |= _sampled_metrics(ctx, suite, out_dir, progress)
    section = None
    if any(name in METHOD_METRICS for name in suite):
        result = _method_report(ctx, run_dir, out_dir, kept, progress)
        metrics |= result.get("metrics", {})
        section = result.get("section")
    seconds = time.perf_counter() - started
    details = {"id": evaluation_id, "suite": ", ".join(suite), "adapter": str(adapter_dir),
               "precision": ctx.eval_precision, "evaluation_seconds": seconds}  # fmt: skip
    report = _report(ctx, metrics, ches, section, details)
    artifacts = write_report(out_dir, report)
    progress.message(f"report written to {artifacts['report_html']}")
    return Evaluation(evaluation_id, suite, metrics, artifacts)


def _pass_metrics(ctx: Context, suite: list[str], progress) -> tuple[dict, dict | None, list[int]]:
    """(E1-E4 and E8 metrics, the E5 section or None, indices of the training pairs training kept)."""
    recipe, wanted = ctx.recipe, set(suite)
    # The E5 filter decided which training pairs trained; a method report needs those, so redo it.
    refilter = recipe.training.drop_top_ln_ches > 0 and bool(wanted & set(METHOD_METRICS))
    training_pass = "ches" in wanted or refilter
    kept = list(range(len(ctx.train.pairs)))
    if not (wanted & PASS_METRICS or training_pass):
        return {}, None, kept
    passes = _reference_passes(ctx.model, ctx.tokenizer, ctx.train, ctx.heldout, progress, ctx.precision,
                               ctx.eval_precision, training_pass)  # fmt: skip
    if training_pass:
        kept = _drop_high_ches(recipe, ctx.train, passes)[2]
    if not wanted & PASS_METRICS:  # the pass only redid the E5 filter for a method report
        return {}, None, kept
    policy = _score(ctx.model, ctx.tokenizer, ctx.heldout.pairs, progress, "adapter on held-out pairs",
                    ctx.eval_precision)[0]  # fmt: skip
    beta = RUNNERS[recipe.method.method](recipe.method).beta
    metrics = heldout_metrics(
        recipe, ctx.soft_labels, passes.base_heldout, policy, passes.heldout_lengths, beta
    )
    dropped = [p for name, p in KEY_PREFIXES.items() if name not in wanted]
    metrics = {k: v for k, v in metrics.items() if not k.startswith(tuple(dropped))}
    if "perplexity" in wanted:
        only = _with_suite(recipe, ["perplexity"])
        metrics |= _generation_metrics(only, ctx.model, ctx.tokenizer, ctx.heldout, passes, policy,
                                       ctx.eval_precision, progress)  # fmt: skip
    ches = None
    if "ches" in wanted:
        ches = ches_report(passes.train_ches.ln_ches, kept, passes.heldout_ches.ln_ches, passes.base_heldout,
                           policy)  # fmt: skip
        metrics["ches_dropped_pairs"] = float(ches["dropped_pairs"])
    return metrics, ches, kept


def _sampled_metrics(ctx: Context, suite: list[str], out_dir: Path, progress) -> dict:
    """E7 (KL on T=1 samples) and E6 (win rate against the base): the metrics that generate answers."""
    metrics: dict[str, Any] = {}
    if "kl" in suite:
        only = _with_suite(ctx.recipe, ["kl"])
        metrics |= _generation_metrics(only, ctx.model, ctx.tokenizer, ctx.heldout, None, None,
                                       ctx.eval_precision, progress)  # fmt: skip
    if "win_rate" in suite:
        ev = ctx.recipe.evaluation
        progress.message(f"win rate against the base on up to {ev.win_rate_prompts} held-out prompts")
        metrics |= win_rate_report(ctx.recipe, ctx.model, ctx.tokenizer, ctx.split, out_dir)
    return metrics


def _with_suite(recipe, metrics: list[str]):
    """The recipe with another metric list, for the training helpers that read `evaluation.metrics`."""
    return recipe.model_copy(update={"evaluation": recipe.evaluation.model_copy(update={"metrics": metrics})})


def _method_report(ctx: Context, run_dir: Path, out_dir: Path, kept: list[int], progress) -> dict:
    """The method's own evaluation (E9), through its runner's `report`, as after training."""
    method = ctx.recipe.method.method
    runner = RUNNERS[method](ctx.recipe.method)
    restore = RESTORERS.get(method)
    if restore is None:  # resolve_suite lets only METHOD_METRICS' methods through; this is a bug guard
        raise UserFacingError(f"`studio eval` cannot recompute the {method} method's own report yet")
    sources = [ctx.split.train[ctx.train.kept[i]] for i in kept]
    restore(runner, ctx, run_dir, sources)
    inputs = EvaluationInputs(ctx.recipe, ctx.tokenizer, ctx.model, ctx.split, ctx.heldout,
                              ctx.eval_precision, out_dir, progress)  # fmt: skip
    return runner.report(inputs)


def _restore_rps(runner, ctx: Context, run_dir: Path, train_sources: list) -> None:
    """What RPSRunner.training_data set during training: the selection reward model (loaded from the
    run's `rps/` folder, so E9 uses what the run selected with) and the judge's records (the same
    seeded prompt split of the same training records)."""
    from workers.methods.rps import RPS_DIR, split_for_judge
    from workers.reward_models import MiniLMEncoder, MultiObjectiveRewardModel

    folder = run_dir / RPS_DIR / "selection_reward_model"
    if not folder.is_dir():
        raise UserFacingError(f"no RPS selection reward model in {folder}: the run folder is incomplete")
    records = ctx.split.records_of(train_sources)
    _, runner.judge_records = split_for_judge(records, runner.spec.judge_fraction, ctx.recipe.training.seed)
    runner.selection_model = MultiObjectiveRewardModel.load(folder, MiniLMEncoder())


# Methods whose report `studio eval` can recompute: the state their runner's `report` reads, rebuilt.
RESTORERS = {"rps": _restore_rps}


def _report(ctx: Context, metrics: dict, ches: dict | None, section: dict | None, details: dict) -> dict:
    recipe = ctx.recipe
    dropped = ctx.train.dropped_identical_after_truncation + ctx.heldout.dropped_identical_after_truncation
    report = {
        "title": f"Evaluation {details['id']}: {recipe.name}",
        "recipe_name": recipe.name,
        "recipe_hash": recipe_hash(recipe),
        "method": recipe.method.method,
        "base_model": recipe.model.name_or_path,
        "confidence_level": recipe.evaluation.confidence_level,
        "evaluation": details | {"heldout_pairs": len(ctx.heldout.pairs)},
        "metrics": metrics,
        "data": ctx.split.report | {"dropped_identical_after_truncation": dropped},
        "versions": library_versions(),
    }
    if ches is not None:
        report["ches"] = ches
    if section:
        report["method_report"] = section
    return report


# ---- the task boundary ----------------------------------------------------------------------------


def stored_run(run_id: str) -> tuple[Any, Any, Path]:
    """(run, recipe, adapter folder) of a succeeded run, or a UserFacingError saying why not."""
    run = runs.get_run(run_id)
    if RunStatus(run.status) != RunStatus.SUCCEEDED:
        raise UserFacingError(f"run {run.id} is {RunStatus(run.status).value}: only a succeeded run has an "
                              "adapter to evaluate")  # fmt: skip
    try:
        recipe = parse_recipe(run.recipe_yaml)
    except RecipeError as exc:
        raise UserFacingError(recipe_error_line(exc)) from None
    adapters = [Path(a.path) for a in runs.artifacts(run.id) if a.kind == "adapter"]
    if not adapters or not adapters[-1].is_dir():
        raise UserFacingError(f"run {run.id} has no adapter folder to evaluate")
    return run, recipe, adapters[-1]


def execute(run_id: str, metrics: list[str] | None, evaluation_id: str | None = None) -> dict[str, Any]:
    """The task body: evaluate, record the report artifacts and one final event; never raises for the run."""
    evaluation_id = evaluation_id or new_evaluation_id()
    progress = EvaluationProgress(run_id, evaluation_id)
    try:
        if not ID_PATTERN.match(evaluation_id):
            raise UserFacingError(f"evaluation id {evaluation_id!r} is not like 20261127T183012Z")
        run, recipe, adapter_dir = stored_run(run_id)
        asked = ", ".join(metrics) if metrics else "the recipe's suite"
        progress.message(f"started on {worker_name()}: {asked}")
        run_dir = settings.runs_dir(run.id)
        result = evaluate_run(recipe, run_dir, adapter_dir, metrics, progress, evaluation_id)
    except RunNotFound as exc:  # there is nowhere to record an event
        log.error("evaluation %s of run %s: %s", evaluation_id, run_id, exc)
        return {"evaluation_id": evaluation_id, "status": "failed", "reason": str(exc)}
    except UserFacingError as exc:
        return _failed(progress, exc.message)
    except Exception as exc:
        path = settings.runs_dir(run_id) / EVALUATIONS_DIR / evaluation_id / LOG_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(traceback.format_exc(), encoding="utf-8")
        log.exception("evaluation %s of run %s failed", evaluation_id, run_id)
        return _failed(progress, internal_error_line(exc, path))
    artifacts = {f"evaluation_{kind}": path for kind, path in result.artifacts.items()}
    for kind, path in artifacts.items():
        runs.add_artifact(run_id, kind, path)
    paths = {kind: str(path) for kind, path in artifacts.items()}
    progress.event(
        f"evaluation {evaluation_id} finished: {paths['evaluation_report_html']}",
        evaluation_status="succeeded", suite=result.suite, results=result.metrics, artifacts=paths,
    )  # fmt: skip
    return {"evaluation_id": evaluation_id, "status": "succeeded"}


def _failed(progress: EvaluationProgress, reason: str) -> dict[str, Any]:
    line = " ".join(reason.split())
    progress.event(
        f"evaluation {progress.evaluation_id} failed: {line}", evaluation_status="failed", reason=line
    )
    return {"evaluation_id": progress.evaluation_id, "status": "failed", "reason": line}
