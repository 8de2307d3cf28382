"""A channel with no credentials configured: show the message in the logs and on the local preview page.

This is what `./deploy.sh local` does with no Discord URL, so a newcomer sees the product work without
any account. In production an unset channel is a configuration gap, hence the warning.
"""
from __future__ import annotations

import dataclasses
import json

from shared import log
from shared.channels.base import Message, Result
from shared.config.settings import Settings
from shared.store import outbox

TEXT_MAX = 20000
# Firestore documents are at most 1 MiB (https://firebase.google.com/docs/firestore/quotas#limits); the payload
# keeps well below it: every string is cut (visibly) until the whole payload fits PAYLOAD_BYTES.
PAYLOAD_BYTES = 400_000
FIELD_MAX = 70_000   # a whole GitHub issue body (65,536) fits
ITEMS_MAX = 50       # list items kept (embeds, fields, buttons, recipients)


def show(channel: str, incident_id: str, reason: str, message: Message, settings: Settings) -> Result:
    """Record a rendered message as if it had been sent; return ok."""
    text = message.preview
    if settings.local_preview:  # ./deploy.sh local: show it as the team would read it
        rule = "─" * 60
        print(f"\n{rule}\n{channel} · {reason} · {incident_id}\n{rule}\n{text}\n{rule}\n", flush=True)
    else:
        log.warning(f"{channel} is not configured; showing the {reason} message for {incident_id} here instead",
                    incident=incident_id, channel=channel, preview=text)
    outbox.add_preview({"channel": channel, "incident_id": incident_id, "reason": reason, "kind": message.kind,
                        "text": text[:TEXT_MAX], "payload": payload_of(message)})
    return Result(True, ref="preview")


def payload_of(message: Message) -> dict:
    """Return the message's payload as Firestore-storable data (a dict) of at most PAYLOAD_BYTES.

    A dataclass payload (an Email) becomes its fields, a plain one (a GitHub comment) {"body": ...}.
    """
    value = message.payload
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    elif not isinstance(value, dict):
        value = {"body": value if isinstance(value, str) else repr(value)}
    limit = FIELD_MAX
    bounded = _bounded(value, limit)
    while len(json.dumps(bounded, ensure_ascii=False, default=str).encode()) > PAYLOAD_BYTES and limit > 200:
        limit //= 2
        bounded = _bounded(value, limit)
    return bounded


def _bounded(value, limit: int):
    """Copy value with every string cut to `limit` characters and every list to ITEMS_MAX items."""
    if isinstance(value, str):
        return value if len(value) <= limit else value[:limit] + f"… (cut {len(value) - limit} characters)"
    if isinstance(value, dict):
        return {str(k): _bounded(v, limit) for k, v in value.items()}
    if isinstance(value, (list, tuple)):  # Firestore holds no list directly inside a list
        items = [_bounded(v, limit) for v in list(value)[:ITEMS_MAX]]
        return [{"items": v} if isinstance(v, list) else v for v in items]
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return str(value)
