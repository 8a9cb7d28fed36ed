"""Two slow spots of argilla-server 2.8, fixed in its own processes (imported by `launch.py`, like
`sql_engine`). Results are unchanged; only repeated work is skipped. Argilla 2.8 is the last release
(maintenance mode): drop a fix if a later server no longer has the problem.

1. Record webhook events nobody listens to. A bulk upsert of N records calls `notify_record_event` once
   per record, and each call first loads the record's dataset with its workspace, fields, questions,
   metadata and vector settings and only then asks which webhooks want the event: ~7 ms per record on
   SQLite, most of the time to publish 10,000 records, even with no webhook at all. Here the enabled
   webhooks' events are read once per database session and the event is built only if someone listens.
2. `Question.parsed_settings` / `MetadataProperty.parsed_settings` build a new pydantic `TypeAdapter`
   (a full core-schema build, ~4 ms) on every access; validating a response touches it once per
   question, so importing 10,000 responses spent ~40 s there. One adapter per settings type suffices.
"""

from __future__ import annotations

from typing import Any

from argilla_server.api.schemas.v1.questions import QuestionSettings
from argilla_server.bulk import records_bulk
from argilla_server.contexts import distribution, webhooks
from argilla_server.models.database import MetadataProperty, Question
from argilla_server.models.metadata_properties import MetadataPropertySettings
from argilla_server.webhooks.v1 import records as record_events
from pydantic import TypeAdapter

_SESSION_KEY = "studio_enabled_webhook_events"
_notify_record_event = record_events.notify_record_event
_QUESTION_SETTINGS = TypeAdapter(QuestionSettings)
_METADATA_SETTINGS = TypeAdapter(MetadataPropertySettings)


async def notify_record_event(db: Any, record_event: Any, record: Any) -> list:
    enabled = db.info.get(_SESSION_KEY)
    if enabled is None:  # once per session (one API request, one rq job): webhooks rarely change
        enabled = {str(event) for hook in await webhooks.list_enabled_webhooks(db) for event in hook.events}
        db.info[_SESSION_KEY] = enabled
    if str(record_event) not in enabled:
        return []
    return await _notify_record_event(db, record_event, record)


def install() -> None:
    # Replaced where it was imported by name too (the bulk upsert and the distribution context).
    record_events.notify_record_event = notify_record_event
    records_bulk.notify_record_event_v1 = notify_record_event
    distribution.notify_record_event_v1 = notify_record_event
    Question.parsed_settings = property(lambda self: _QUESTION_SETTINGS.validate_python(self.settings))
    MetadataProperty.parsed_settings = property(
        lambda self: _METADATA_SETTINGS.validate_python(self.settings)
    )


install()
