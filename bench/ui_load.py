"""Studio page-load benchmark: a busy database (200 runs, 50,000 run events), the real app in its own
process, Debian's Chromium through Playwright. Measures, in the browser, the first page load (navigation
until the Recipes form is on screen with its method's fields and no request is pending) and each tab
switch (click until the tab's content is visible and the app's requests for it are answered; each tab is
opened for the first time in its page, when its content is built). Every page is a fresh browser
context: nothing cached. Target: every number under 1 s. Run it alone: it reports the load average.

    PYTHONPATH=. .venv/bin/python bench/ui_load.py --out docs/benchmarks.md

`--compare DIR` also serves the app from another source tree (e.g. `git worktree add /tmp/base HEAD~1`)
on the same database and alternates page loads between the two (A B, B A, ...): on a shared machine
only such paired, interleaved runs tell a change from the minute-to-minute noise.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run directly, without PYTHONPATH
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
# tab name → an element that only that tab shows
TABS = {"Annotation": "#annotation-state", "Runs": "#run-curves", "Results": "#report-picker",
        "Playground": "#play-prompt", "Recipes": "#recipe-yaml"}  # fmt: skip
FORM_READY = "#field-method-dpo-beta"  # the picked method's fields: the form is usable
Timings = dict[str, dict[str, list[float]]]  # app -> what -> seconds per repeat


def fill_database(runs_count: int, events_count: int) -> None:
    """Real rows through the store's tables (bulk inserts: the benchmark is the UI, not the writes)."""
    import sqlalchemy as sa

    from store import runs
    from store.column_types import utcnow
    from store.db import get_engine, session_scope
    from store.tables import Run, RunEvent

    statuses = ["succeeded"] * 6 + ["failed", "cancelled", "queued", "running"]
    rng = random.Random(0)
    ids = []
    with session_scope():
        pass  # migrate
    now = utcnow()
    run_rows = []
    for index in range(runs_count):
        run_id = runs.new_run_id() + f"{index:03d}"
        ids.append(run_id)
        status = statuses[index % len(statuses)]
        run_rows.append(_run_row(run_id, f"bench-{index}", status, now, events_count // runs_count))
    per_run = events_count // runs_count
    event_rows = [_event_row(run_id, step, per_run, now, rng) for run_id in ids for step in range(per_run)]
    with get_engine().begin() as connection:
        connection.execute(sa.insert(Run), run_rows)
        connection.execute(sa.insert(RunEvent), event_rows)


def _run_row(run_id: str, name: str, status: str, now, total: int) -> dict:
    return {
        "id": run_id, "recipe_name": name, "recipe_yaml": "name: bench\n", "recipe_hash": "0" * 64,
        "schema_version": 1, "status": status, "created_at": now, "started_at": now, "heartbeat_at": now,
        "cancel_requested": False, "metrics": {}, "attempts": 1, "progress_step": 0, "progress_total": total,
    }  # fmt: skip


def _event_row(run_id: str, step: int, total: int, now, rng: random.Random) -> dict:
    metrics = {"rewards/accuracy": rng.random(), "rewards/margin": rng.random(),
               "logps/chosen": -300 + rng.random(), "logps/rejected": -301 + rng.random()}  # fmt: skip
    loss = 0.7 - step * 1e-3 + rng.random() * 0.01
    return {"run_id": run_id, "step": step + 1, "total": total, "loss": loss, "metrics": metrics,
            "message": None, "created_at": now}  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(port: int, env: dict[str, str], root: Path = ROOT) -> subprocess.Popen:
    """The app of the source tree `root` (its own `studio` package first on the path)."""
    env = {**env, "PYTHONPATH": os.pathsep.join([str(root), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    proc = subprocess.Popen([sys.executable, "-m", "studio.app", "--port", str(port)], env=env, cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit("the studio app did not start")


def idle(page, quiet_ms: int = 150) -> None:
    """Wait until Gradio has no request in flight (its status trackers are gone) for a moment."""
    page.wait_for_function("!document.querySelector('.pending, .generating')", timeout=30_000)
    page.wait_for_timeout(quiet_ms)


def measure(urls: dict[str, str], repeats: int) -> tuple[Timings, str]:
    """({app: {what: seconds per repeat}}, the browser's version). With several apps, each repeat
    loads every app once, in turn, the order reversed every other repeat."""
    from playwright.sync_api import sync_playwright

    timings = {app: _empty_timings() for app in urls}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for repeat in range(repeats):
            order = list(urls) if repeat % 2 == 0 else list(urls)[::-1]
            for app in order:
                _measure_page(browser, urls[app], timings[app])
        version = browser.version
        browser.close()
    return timings, version


def _empty_timings() -> dict[str, list[float]]:
    return {"first page load": [], **{f"tab: {t}": [] for t in TABS}, "reload (browser cache warm)": []}


def _measure_page(browser, url: str, timings: dict[str, list[float]]) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    timings["first page load"].append(_load(page, partial(page.goto, url)))
    idle(page)
    for tab, marker in TABS.items():
        start = time.perf_counter()
        page.get_by_role("tab", name=tab).click()
        page.locator(marker).first.wait_for(state="visible", timeout=30_000)
        page.wait_for_function("!document.querySelector('.pending')", timeout=30_000)
        timings[f"tab: {tab}"].append(time.perf_counter() - start)
        idle(page)
    timings["reload (browser cache warm)"].append(_load(page, page.reload))
    page.close()


def _load(page, navigate) -> float:
    """Seconds from `navigate()` until the Recipes form is usable and no request is pending."""
    start = time.perf_counter()
    navigate()
    page.wait_for_function("document.querySelector('#signed-in')?.innerText.length > 0", timeout=60_000)
    page.locator(FORM_READY).wait_for(state="visible", timeout=60_000)
    page.wait_for_function("!document.querySelector('.pending')", timeout=30_000)
    return time.perf_counter() - start


def report(timings: Timings, runs_count: int, events_count: int, context: dict) -> str:
    apps = list(timings)
    repeats = len(timings[apps[0]]["first page load"])
    paired = f", alternating between {' and '.join(apps)} (paired, interleaved)" if len(apps) > 1 else ""
    lines = [
        "",
        f"## Studio page load (bench/ui_load.py, {dt.date.today().isoformat()})",
        "",
        f"{runs_count} runs and {events_count:,} run events in SQLite (filled in {context['fill_s']:.1f} s); "
        f"the real app (`python -m studio.app`, no login) and Debian's Chromium {context['browser']} "
        f"(headless) on {platform.machine()} with {os.cpu_count()} CPUs, shared with other work (load "
        f"average {context['load_before']:.2f} before, {context['load_after']:.2f} after). Median and worst "
        f"of {repeats} page loads{paired}, each in a fresh browser context, in seconds. Target: under 1 s.",
        "",
        "| what | " + " | ".join(f"{app}: median s | worst s" for app in apps) + " |",
        "|---|" + "---|---|" * len(apps),
    ]
    for name in timings[apps[0]]:
        cells = [_median_and_worst(timings[app][name]) for app in apps]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _median_and_worst(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[(len(ordered) - 1) // 2]:.2f} | {ordered[-1]:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="Append the results section to this Markdown file.")
    parser.add_argument("--compare", type=Path, metavar="DIR",
                        help="Also measure the app of this source tree (e.g. a worktree of the previous "
                        "commit), interleaved.")  # fmt: skip
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="studio-ui-bench-"))
    os.environ["STUDIO_DATA_DIR"] = str(data_dir)
    os.environ.pop("STUDIO_DATABASE_URL", None)
    os.environ["STUDIO_REDIS_URL"] = "redis://127.0.0.1:1/0"  # the pages never enqueue; no broker needed
    start = time.perf_counter()
    fill_database(args.runs, args.events)
    context = {"fill_s": time.perf_counter() - start}
    env = {**os.environ, "STUDIO_REQUIRE_LOGIN": ""}
    other = args.compare.resolve() if args.compare else None
    roots = {"this tree": ROOT, **({other.name: other} if other else {})}
    procs, urls = [], {}
    try:
        for name, root in roots.items():
            port = free_port()
            procs.append(start_app(port, env, root))
            urls[name] = f"http://127.0.0.1:{port}/"
        context["load_before"] = os.getloadavg()[0]
        timings, context["browser"] = measure(urls, args.repeats)
        context["load_after"] = os.getloadavg()[0]
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=20)
    text = report(timings, args.runs, args.events, context)
    print(text)
    if args.out:
        with args.out.open("a", encoding="utf-8") as handle:  # append: others add sections too
            handle.write(text)


if __name__ == "__main__":
    main()
