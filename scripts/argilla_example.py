"""`make example-argilla`: real multi-annotator data through a real Argilla server, then training from it.

    PYTHONPATH=. .venv/bin/python scripts/argilla_example.py [--recipe examples/argilla-pandalm.yaml]

1. Start Redis, argilla-server 2.8 (own venv, SQLite, the studio's SQL search engine), a Celery worker on
   the `annotation` queue and a training worker — what `studio up` starts, without the web app.
2. `studio annotate publish RECIPE --wait`: the rubric becomes an Argilla dataset with the 160 pairs.
3. Each of PandaLM's three annotators' votes becomes that annotator's submitted response (1 → "A is
   better", 2 → "B is better", 0 → "Tie"), imported with the SDK as a data set's own labels would be.
4. `studio annotate sync RECIPE --wait` and `studio annotate status RECIPE`: per-annotator progress and
   Krippendorff's α for the overall choice.
5. Train the recipe (`data: {kind: argilla}`): the run checks the agreement gate, then trains on one pair
   per annotator and non-tie vote, and evaluates on prompt-disjoint held-out pairs.
Finally one summary: wall time per step, α, held-out accuracy before/after.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from recipes.io import load_recipe  # noqa: E402
from recipes.row_mapper import Skip, records_from_row  # noqa: E402
from store import annotations  # noqa: E402
from store.annotations import ANNOTATION_QUEUE  # noqa: E402
from studio.cli_stack import print_outcome  # noqa: E402
from studio.cli_wait import submit, wait_for_run  # noqa: E402
from studio.services import (  # noqa: E402
    ArgillaService,
    RedisService,
    Supervisor,
    WorkerService,
    interrupt_on_stop_signals,
    worker_env,
)

RECIPE = ROOT / "examples" / "argilla-pandalm.yaml"
VOTE_LABELS = {1: "a_better", 2: "b_better", 0: "tie"}  # PandaLM: 1 = response1 (A), 2 = response2 (B)
VOTE_COLUMNS = ("annotator1", "annotator2", "annotator3")


def studio(*args: str, env: dict[str, str]) -> None:
    """One `studio` command as a user would type it (exit non-zero → stop here)."""
    print(f"\n$ studio {' '.join(args)}", flush=True)
    subprocess.run([sys.executable, "-m", "studio.cli", *args], env=env, cwd=ROOT, check=True)


def pandalm_answers(recipe_path: Path) -> list[tuple[str, str, dict[str, str]]]:
    """(item id, annotator account, {"overall": label}) for every vote in the items file."""
    from workers.annotation_tasks import item_id  # the id publish gave each item

    recipe = load_recipe(recipe_path)
    source, accounts = recipe.annotation.items, recipe.annotation.annotators
    answers = []
    for line in Path(source.path).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        records = records_from_row(row, source)
        if isinstance(records, Skip):
            continue
        key = item_id(records[0])
        answers += [
            (key, accounts[n], {"overall": VOTE_LABELS[row[col]]}) for n, col in enumerate(VOTE_COLUMNS)
        ]
    return answers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", type=Path, default=RECIPE)
    parser.add_argument("--annotate-only", action="store_true", help="Stop after the sync (no training).")
    args = parser.parse_args()
    recipe_path = args.recipe.resolve()
    recipe = load_recipe(recipe_path)  # fail before starting anything
    times, start = {}, time.monotonic()
    redis = RedisService()
    services = [
        redis,
        ArgillaService(redis),
        WorkerService(redis, queues=ANNOTATION_QUEUE),
        WorkerService(redis),
    ]
    supervisor = Supervisor(services, say=print)
    with interrupt_on_stop_signals():
        try:
            supervisor.start_all()
            times["start the stack"] = time.monotonic() - start
            run = _annotate_and_train(
                recipe, recipe_path, worker_env(redis.url), supervisor, times, args.annotate_only
            )
        finally:
            supervisor.stop_all()
    times["total"] = time.monotonic() - start
    _summary(recipe, run, times)
    return 0 if run is None or run.status == "succeeded" else 1


def _annotate_and_train(recipe, recipe_path: Path, env: dict, supervisor, times: dict, annotate_only: bool):
    from annotation import service  # the Argilla SDK, for the import step only

    mark = time.monotonic()
    studio("annotate", "publish", str(recipe_path), "--wait", env=env)
    times["publish"] = time.monotonic() - mark
    mark = time.monotonic()
    link = annotations.find_link(recipe.data.workspace, recipe.data.dataset)
    imported = service.import_responses(link.id, pandalm_answers(recipe_path))
    times["import responses"] = time.monotonic() - mark
    print(f"imported {imported} responses of {len(recipe.annotation.annotators)} annotators", flush=True)
    mark = time.monotonic()
    studio("annotate", "sync", str(recipe_path), "--wait", env=env)
    times["sync"] = time.monotonic() - mark
    studio("annotate", "status", str(recipe_path), env=env)
    if annotate_only:
        return None
    mark = time.monotonic()
    queued = submit(recipe)
    print(f"\nrun: {queued.id} ({recipe.name})", flush=True)
    final = wait_for_run(queued.id, _console(), hint_after_s=None, check=supervisor.check)
    times["train + evaluate"] = time.monotonic() - mark
    print_outcome(_console(), final)
    return final


def _console():
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def _summary(recipe, run, times: dict) -> None:
    link = annotations.find_link(recipe.data.workspace, recipe.data.dataset)
    metrics = (run.metrics if run else None) or {}
    summary = {
        "seconds": {step: round(value, 1) for step, value in times.items()},
        "records": link.published_records,
        "completed_records": link.completed_records,
        "alpha": {name: entry.get("alpha") for name, entry in (link.agreement or {}).items()},
        "run": run.id if run else None,
        "status": run.status if run else "not trained (--annotate-only)",
        "heldout": {
            key: metrics.get(key)
            for key in (
                "ranking_accuracy_before",
                "ranking_accuracy_after",
                "reward_accuracy",
                "reward_accuracy_ci_low",
                "reward_accuracy_ci_high",
                "longer_wins_baseline",
            )
        },  # fmt: skip
    }
    print("\nsummary: " + json.dumps(summary, indent=1), flush=True)


def _main_with_one_line_errors() -> int:
    from annotation.errors import AnnotationError
    from studio.cli_errors import CliError

    try:
        return main()
    except subprocess.CalledProcessError as error:
        print(f"error: `studio {' '.join(error.cmd[3:])}` failed (exit {error.returncode}); see above")
    except (AnnotationError, CliError) as error:
        print(f"error: {error}")
    except Exception as error:  # a bug: one line, the details only on request
        if os.environ.get("STUDIO_DEBUG"):
            raise
        print(f"internal error: {type(error).__name__}: {error} (set STUDIO_DEBUG=1 for the traceback)")
    except KeyboardInterrupt:
        print("interrupted")
    return 1


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    sys.exit(_main_with_one_line_errors())
