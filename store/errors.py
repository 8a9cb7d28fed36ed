"""Errors the store raises; each message is one line a user can act on."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for the store's domain errors."""


class RunNotFound(StoreError, LookupError):  # noqa: N818 - reads as the condition, like FileNotFoundError
    """No run has this id (or, for a prefix, no run id starts with it)."""


class AmbiguousRunId(RunNotFound):  # noqa: N818 - a kind of RunNotFound for callers that catch that
    """A prefix matched several runs; the message lists them."""


class RedisStartError(StoreError):
    """The embedded Redis server did not start or did not answer PING in time."""
