"""The shared `transformers.Trainer` for every preference method.

The Trainer brings the optimizer, schedulers, gradient accumulation, mixed precision (accelerate) and
checkpoints; a method runner brings only `loss(model, batch) -> (loss, metrics)`. Reference log-probs
are computed once before training with the adapter disabled (no second model in memory) and travel in
the batch, so each step runs the policy only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import torch
from transformers import Trainer, TrainerCallback

from workers.batching import LengthGroupedBatchSampler
from workers.packing import pack_pairs
from workers.tokenization import TokenizedPair


class PairDataset(torch.utils.data.Dataset):
    """Tokenized pairs plus the per-pair extras a runner needs (e.g. reference log-probs)."""

    def __init__(self, pairs: Sequence[TokenizedPair], extras: dict[str, torch.Tensor] | None = None):
        self.pairs = list(pairs)
        self.extras = extras or {}

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> tuple[TokenizedPair, dict[str, torch.Tensor]]:
        return self.pairs[index], {name: values[index] for name, values in self.extras.items()}

    def lengths(self) -> list[int]:
        return [pair.length for pair in self.pairs]


class PairCollator:
    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, items: list[tuple[TokenizedPair, dict[str, torch.Tensor]]]) -> dict[str, torch.Tensor]:
        batch = pack_pairs([pair for pair, _ in items], self.pad_id)
        for name in items[0][1]:
            batch[name] = torch.stack([extras[name] for _, extras in items])
        return batch


class PreferenceTrainer(Trainer):
    def __init__(self, *args: Any, runner: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.runner = runner
        self._metric_sums: dict[str, list[float]] = defaultdict(list)

    def create_optimizer(self, model=None) -> torch.optim.Optimizer:
        # Modules a method trains beside the LoRA weights (e.g. SPO's degree head) join as their own
        # groups before the scheduler is built, so they follow the same warm-up and decay.
        optimizer = super().create_optimizer(model)
        for group in self.runner.extra_parameter_groups():
            optimizer.add_param_group(group)
        return optimizer

    def get_train_dataloader(self) -> torch.utils.data.DataLoader:
        sampler = LengthGroupedBatchSampler(
            self.train_dataset.lengths(), self.args.per_device_train_batch_size, self.args.seed
        )
        loader = torch.utils.data.DataLoader(
            self.train_dataset, batch_sampler=sampler, collate_fn=self.data_collator, num_workers=0
        )
        return self.accelerator.prepare(loader)

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        loss, metrics = self.runner.loss(model, inputs)
        for name, value in metrics.items():
            self._metric_sums[name].append(float(value))
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        # Averages of the runner's metrics since the last log, next to the Trainer's own loss.
        if "loss" in logs:
            logs.update({k: sum(v) / len(v) for k, v in self._metric_sums.items() if v})
            self._metric_sums.clear()
        super().log(logs, start_time)


class ProgressCallback(TrainerCallback):
    """Forwards log events to a `workers.progress.Progress` and stops cooperatively on cancel."""

    def __init__(self, progress: Any):
        self.progress = progress
        self.cancelled = False
        self.curves: list[dict[str, Any]] = []  # every training log, for the report's curves

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = dict(logs or {})
        loss = logs.pop("loss", None)
        metrics = {k: v for k, v in logs.items() if isinstance(v, int | float)}
        self.progress.on_log(state.global_step, state.max_steps, loss, metrics)
        if loss is not None:
            self.curves.append({"step": state.global_step, "loss": loss, "metrics": metrics})

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress.should_stop():
            self.cancelled = True
            control.should_training_stop = True
        return control
