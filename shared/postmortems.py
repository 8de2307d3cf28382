"""Postmortems: a draft for every incident that needs one, made by the sweep once it resolves; read and edited
through the API. (Reminders, action items and the GitHub issue come next.)"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.config import Config
from shared.errors import BadInput, NotFound
from shared.rules import postmortem
from shared.store import postmortems as store
from shared.store.incidents import get_incident

LOOKBACK = timedelta(hours=6)   # a sweep makes drafts for incidents resolved this recently (missed runs too)
EDITABLE = ("summary", "root_cause", "resolution", "prevention", "went_well", "went_wrong", "lucky", "author")


def sweep(now: datetime, cfg: Config) -> int:
    """Make the drafts of recently resolved incidents that need one; return how many were made."""
    made = 0
    for incident in store.resolved_since(now - LOOKBACK, 200):
        if postmortem.reasons(incident) and store.get(incident.id) is None:
            made += store.create(incident.id, {**postmortem.draft(incident, cfg), "created_at": now,
                                               "reviewed_at": None, "updated_at": now})
    return made


def get(incident_id: str) -> dict:
    found = store.get(incident_id)
    if found is None:
        incident = get_incident(incident_id)
        if incident is None:
            raise NotFound(f"no incident {incident_id[:40]!r}")
        raise NotFound(f"{incident.id} has no postmortem" + (
            "" if postmortem.reasons(incident) else " (it meets none of the criteria)"))
    return found


def edit(incident_id: str, body: dict, now: datetime) -> dict:
    """PUT /api/postmortems/<id>: replace sections (text, or lists of lines for the lessons)."""
    current = get(incident_id)
    unknown = sorted(set(body) - set(EDITABLE))
    if unknown:
        raise BadInput(f"cannot edit {', '.join(unknown)[:80]}; editable: {', '.join(EDITABLE)}")
    fields = {}
    for key, value in body.items():
        if key in ("went_well", "went_wrong", "lucky"):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise BadInput(f"{key}: expected a list of lines")
            fields[key] = [v[:500] for v in value][:30]
        elif not isinstance(value, str) or not value.strip():
            raise BadInput(f"{key}: expected text")
        else:
            fields[key] = value.strip()[:5000]
    store.update(incident_id, {**fields, "updated_at": now})
    return {**current, **fields}
