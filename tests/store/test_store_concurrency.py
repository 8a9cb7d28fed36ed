"""Several processes write the same SQLite file at once (the CLI, a worker's heartbeat thread and
its progress callback): no "database is locked", no lost writes."""

from __future__ import annotations

import multiprocessing

from store import runs
from store.tables import RunStatus

EVENTS_PER_WRITER = 150


def _writer(name: str, run_id: str, start, results) -> None:
    start.wait(timeout=60)  # both processes hit the database at the same moment
    won = runs.mark_running(run_id, f"{name}:1")
    for index in range(EVENTS_PER_WRITER):
        runs.append_event(run_id, step=index, total=EVENTS_PER_WRITER, message=f"{name}-{index}")
        if index % 10 == 0:
            runs.heartbeat(run_id)
            runs.cancel_requested(run_id)
    results.put((name, won))


def test_two_processes_write_the_same_run_at_once(database_url: str) -> None:
    run_id = runs.create_run("name: x\n", "x", "0" * 64).id
    context = multiprocessing.get_context("spawn")  # fresh interpreters, like separate programs
    start, results = context.Barrier(2), context.Queue()
    writers = [context.Process(target=_writer, args=(name, run_id, start, results)) for name in ("a", "b")]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
    assert [writer.exitcode for writer in writers] == [0, 0], "a writer crashed (see its traceback above)"

    outcomes = dict(results.get(timeout=5) for _ in writers)
    assert sorted(outcomes.values()) == [False, True], "exactly one process may start the run"
    events = runs.events(run_id)
    assert len(events) == 2 * EVENTS_PER_WRITER
    for name in ("a", "b"):
        mine = [event.message for event in events if event.message.startswith(f"{name}-")]
        assert mine == [f"{name}-{index}" for index in range(EVENTS_PER_WRITER)]
    assert runs.get_run(run_id).status is RunStatus.RUNNING
