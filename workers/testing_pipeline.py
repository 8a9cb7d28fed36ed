"""A sleep-and-report stand-in for the training pipeline, for tests of the run machinery.

Selected with `STUDIO_PIPELINE=workers.testing_pipeline:run_recipe`; it imports no torch, takes a few
seconds, emits progress, honours cancellation and writes small fake artifacts. Steps: the recipe's
`training.max_steps`, else `STUDIO_TEST_STEPS` (default 5); `STUDIO_TEST_STEP_S` seconds per step (0.2).
`STUDIO_TEST_NO_PDEATHSIG=1` clears the parent-death signal Celery sets on Linux, so a test can check
the heartbeat's own orphan check as it would run where that signal does not exist (macOS).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workers.progress import Progress, RunCancelled


@dataclass
class FakeTrainResult:
    metrics: dict[str, Any]
    artifacts: dict[str, Path]
    data_report: dict[str, Any] = field(default_factory=dict)


def run_recipe(recipe: Any, out_dir: Path, progress: Progress) -> FakeTrainResult:
    steps = recipe.training.max_steps or int(os.environ.get("STUDIO_TEST_STEPS", "5"))
    step_s = float(os.environ.get("STUDIO_TEST_STEP_S", "0.2"))
    if os.environ.get("STUDIO_TEST_NO_PDEATHSIG"):
        from billiard.util import set_pdeathsig

        set_pdeathsig(0)  # 0 = no signal on parent death
    progress.message(f"fake training of {recipe.name}: {steps} steps")
    loss = 0.693
    for step in range(1, steps + 1):
        if progress.should_stop():
            raise RunCancelled()
        time.sleep(step_s)
        loss *= 0.9
        progress.on_log(step, steps, loss, {"learning_rate": 1e-4})
    return FakeTrainResult(metrics={"final_loss": loss, "steps": steps}, artifacts=_write_artifacts(out_dir))


def _write_artifacts(out_dir: Path) -> dict[str, Path]:
    adapter = out_dir / "adapter"
    adapter.mkdir(parents=True, exist_ok=True)
    (adapter / "adapter_config.json").write_text(json.dumps({"fake": True}))
    report_json = out_dir / "report.json"
    report_json.write_text(json.dumps({"fake": True}))
    report_md = out_dir / "report.md"
    report_md.write_text("# Fake report\n")
    return {"adapter": adapter, "report_json": report_json, "report_md": report_md}
