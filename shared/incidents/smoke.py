"""Removing a smoke test's incident (DELETE /api/incidents/<id>): only one marked as a smoke test, only once it
is closed and no notification of it is being sent (a send going on would write to a deleted record). One held
for business hours is deleted with it: nobody needs to hear of a deleted test in the morning's digest."""
from __future__ import annotations

from shared.errors import Conflict, Forbidden
from shared.incidents import actions
from shared.model import OutboxStatus
from shared.rules.smoke import SMOKE_MARK, is_smoke_test
from shared.store import outbox, removal

WORKING = {OutboxStatus.PENDING.value, OutboxStatus.SENDING.value}


def remove(typed_id: str) -> None:
    """Delete a closed smoke-test incident and what was stored for it; Forbidden for any other incident."""
    incident = actions.get(typed_id)
    if not is_smoke_test(incident.title):
        raise Forbidden(f"only a smoke test's incident (a title starting {SMOKE_MARK}) can be deleted")
    if not incident.is_resolved:
        raise Conflict(f"{incident.id} is {incident.status}: resolve it first")
    records = outbox.for_incident(incident.id)
    waiting = [r["channel"] for r in records if str(r.get("status")) in WORKING]
    if waiting:
        raise Conflict(f"{incident.id} still has notifications going out ({', '.join(sorted(set(waiting)))}): "
                       "try again in a moment")
    removal.remove_incident(incident.id, incident.key_doc, [r["id"] for r in records])
