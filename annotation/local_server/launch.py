"""Entry point for the argilla-server venv's python: register our search engine, then run a command.

    python -m annotation.local_server.launch server --host 127.0.0.1 --port 6900
    python -m annotation.local_server.launch worker
    python -m annotation.local_server.launch cli database migrate   # any `python -m argilla_server ...`

The engine must be registered in every process that asks `SearchEngine.get_by_name` — the web app and
the rq worker (webhooks, distribution changes) — before the first lookup: importing `sql_engine` does it.
Imports only argilla_server, its dependencies and the stdlib.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str]) -> None:
    import annotation.local_server.speedups  # noqa: F401 - two slow spots of the server, see there
    import annotation.local_server.sql_engine  # noqa: F401 - registers the "studio-sql" engine

    if argv and argv[0] == "cli":
        from argilla_server.cli import app

        sys.argv = ["argilla_server", *argv[1:]]
        app()
        return
    parser = argparse.ArgumentParser(prog="annotation.local_server.launch")
    parser.add_argument("command", choices=["server", "worker"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6900)
    args = parser.parse_args(argv)
    if args.command == "server":
        _serve(args.host, args.port)
    else:
        _work()


def _serve(host: str, port: int) -> None:
    import uvicorn

    # In this process (no reload, no uvicorn workers), so the registration above is what the app sees.
    uvicorn.run("argilla_server:app", host=host, port=port, access_log=False, log_level="warning")


def _work() -> None:
    from argilla_server.jobs.queues import DEFAULT_QUEUE, HIGH_QUEUE, REDIS_CONNECTION
    from rq import SimpleWorker

    # SimpleWorker runs jobs in this process: no fork per job (two CPUs), and the engine registered
    # above is the one the jobs look up. argilla's own `worker` command starts a pool of two.
    worker = SimpleWorker([HIGH_QUEUE, DEFAULT_QUEUE], connection=REDIS_CONNECTION)
    # with_scheduler: a failed webhook delivery is retried after 10/60/180 s (rq `Retry(interval=...)`),
    # which only a worker running the scheduler ever picks up again.
    worker.work(logging_level="WARNING", with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
