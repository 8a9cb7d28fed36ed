"""Argilla webhooks → a sync of the dataset they are about (and, through the sync, `retrain_after` runs).

Where it runs: a small process of its own (`python -m studio.webhooks`), which `studio up` starts after
Argilla (`WebhookService`). Not inside the Gradio app: it must work with `studio up --no-app`, and a
receiver that only verifies a signature and queues a task needs no web framework (stdlib
`http.server`). On start it registers this studio's webhook with Argilla (one per data dir, re-pointed
at the current address, see `annotation.service.register_webhook`); on stop it disables it, so Argilla
does not retry into a closed port.

Per event: verify the Standard Webhooks signature with the webhook's secret (401 otherwise), find the
annotation link of the event's dataset, and `store.annotations.request_sync` (a burst of responses
becomes one queued sync). Drafts are ignored: the UI saves one while the annotator types. Errors that
a later delivery may not have (Redis down) answer 503, so Argilla's worker retries.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

from store import annotations, settings
from studio.services import log_tail, stop_process, worker_env

WEBHOOK_PATH = "/argilla/webhook"
HEALTH_PATH = "/health"
MAX_BODY_BYTES = 8 * 1024 * 1024  # events carry the record's fields and the dataset's settings
log = logging.getLogger("studio.webhooks")


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]


def owner_tag() -> str:
    """How this studio's webhook is recognised among the server's webhooks (its description)."""
    return f"alignment-studio sync receiver for {settings.data_dir()}"


def handle_event(body: bytes, headers: Mapping[str, str], secret: str) -> Outcome:
    """One delivery: verify, find the dataset's link, queue a sync. Pure apart from the store calls."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    try:
        payload = Webhook(secret).verify(body, dict(headers))
    except (WebhookVerificationError, ValueError) as error:
        return Outcome(401, {"error": f"signature check failed: {error}"})
    event, data = str(payload.get("type") or ""), payload.get("data") or {}
    if event.startswith("response.") and data.get("status") == "draft":
        return Outcome(200, {"ignored": "draft responses are not synced"})
    dataset = (data.get("record") or {}).get("dataset") or data.get("dataset") or {}
    workspace = (dataset.get("workspace") or {}).get("name")
    link = annotations.find_link_for_event(workspace, dataset.get("name"), dataset.get("id"))
    if link is None:
        return Outcome(200, {"ignored": f"dataset {workspace}/{dataset.get('name')} is not the studio's"})
    try:
        queued = annotations.request_sync(link.id)
    except Exception as error:  # Redis unreachable: let Argilla deliver it again later
        return Outcome(503, {"error": f"could not queue the sync: {type(error).__name__}: {error}"})
    return Outcome(200, {"event": event, "link": link.id, "sync": "queued" if queued else "already queued"})


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        if self.path != HEALTH_PATH:
            return self._answer(Outcome(404, {"error": "not found"}))
        self._answer(Outcome(200, {"ok": True, "webhook": self.server.public_url}))

    def do_POST(self) -> None:
        if self.path != WEBHOOK_PATH:
            return self._answer(Outcome(404, {"error": "not found"}))
        size = int(self.headers.get("content-length") or 0)
        if size > MAX_BODY_BYTES:
            return self._answer(Outcome(413, {"error": "event too large"}))
        try:
            outcome = handle_event(self.rfile.read(size), dict(self.headers.items()), self.server.secret)
        except Exception as error:  # e.g. the DB is locked: answer, so Argilla delivers it again later
            log.exception("webhook delivery failed")
            outcome = Outcome(500, {"error": f"{type(error).__name__}: {error}"})
        log.info("%s %s", outcome.status, json.dumps(outcome.body))
        self._answer(outcome)

    def _answer(self, outcome: Outcome) -> None:
        text = json.dumps(outcome.body).encode()
        self.send_response(outcome.status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        pass  # one line per event is logged by do_POST; health checks would drown it


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    secret = ""
    public_url = ""


class Receiver:
    """The HTTP receiver plus its registration with Argilla (see the module docstring)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, public_url: str | None = None) -> None:
        self.httpd = _Server((host, port), _Handler)
        shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.url = f"http://{shown}:{self.httpd.server_address[1]}"
        self.httpd.public_url = public_url or self.url + WEBHOOK_PATH
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        from annotation import service  # the Argilla SDK, only in this process

        self.httpd.secret = service.register_webhook(self.httpd.public_url, owner_tag())
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="webhooks", daemon=True)
        self._thread.start()
        return self.httpd.public_url

    def stop(self) -> None:
        from annotation import service
        from annotation.errors import AnnotationError

        try:
            service.disable_webhook(owner_tag())
        except AnnotationError as error:  # Argilla already gone: nothing will be delivered anyway
            log.warning("could not disable the webhook: %s", error)
        self.httpd.shutdown()
        self.httpd.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m studio.webhooks", description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument(
        "--public-url",
        default=os.environ.get("STUDIO_WEBHOOK_URL"),
        help="The URL Argilla posts to, when it is not host:port (e.g. in docker).",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    for noisy in ("httpx", "argilla.sdk"):  # one line per event is enough; not one per HTTP call
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from annotation.errors import AnnotationError

    receiver = Receiver(args.host, args.port, args.public_url)
    try:
        url = receiver.start()
    except AnnotationError as error:
        print(f"error: could not register the Argilla webhook: {error}", file=sys.stderr, flush=True)
        return 1
    print(f"receiving Argilla webhooks at {url}", flush=True)
    stopping = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.set())
    stopping.wait()
    receiver.stop()
    return 0


class WebhookService:
    """`studio up`'s entry for the receiver: a subprocess sharing our data dir, Redis and Argilla."""

    name = "webhooks"
    startup_timeout_s = 60.0

    def __init__(self, redis: Any, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.redis, self.host = redis, host
        self.port = port or int(os.environ.get("STUDIO_WEBHOOK_PORT") or 0) or _free_port()
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> str:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.log_path = settings.data_dir() / "logs" / f"webhooks-{stamp}-{os.getpid()}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - kept open for the child's lifetime
        command = [sys.executable, "-m", "studio.webhooks", "--host", self.host, "--port", str(self.port)]
        self.proc = subprocess.Popen(
            command, env=worker_env(self.redis.url), stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        return f"{self.url}{WEBHOOK_PATH} → sync on new responses (log: {self.log_path})"

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + HEALTH_PATH, timeout=2) as answer:
                return self.alive() and answer.status == 200
        except OSError:
            return False

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def failure_hint(self) -> str:
        return f"see {self.log_path}{log_tail(self.log_path)}"

    def stop(self, force: bool = False) -> None:
        if self.proc is not None:
            stop_process(self.proc, 0 if force else 10)
        if self._log is not None:
            self._log.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
