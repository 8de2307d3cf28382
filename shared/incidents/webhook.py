"""The ingest use case: authenticate, parse, then apply each alert to stored state."""
from __future__ import annotations

import hashlib
from datetime import datetime

from shared import log
from shared.clock import clock
from shared.config import config
from shared.config.settings import settings
from shared.errors import NotFound
from shared.incidents import ingest as incidents
from shared.incidents import issues
from shared.notify import delivery
from shared.sources import REGISTRY
from shared.sources.common import InboundRequest

DELIVERY_WAIT = 0.25  # seconds the answer may wait for notifications to go out (Sentry gives a webhook 1 s, a
# cold start takes about half of that); the send goes on in the background either way


def listing() -> dict:
    """Describe the accepted sources (GET /ingest/, doubles as a health check)."""
    return {"sources": [{"name": name, "path": f"/ingest/{name}", "auth": module.AUTH}
                        for name, module in REGISTRY.items()]}


def _source(path: str) -> tuple[str, object | None]:
    """The source a path names (its first segment), and its module when it is a known one."""
    name = path.strip("/").split("/")[0]
    return name, REGISTRY.get(name)


def methods(path: str) -> tuple[str, ...]:
    """The methods a source's deliveries come with (POST, unless the source says otherwise)."""
    return getattr(_source(path)[1], "METHODS", ("POST",))


def claim_for(source: str, delivery: str, index: int = 0) -> str:
    """Return the claim of the index-th alert of one delivery (or one event) of a source."""
    return f"{source}-{hashlib.sha256(delivery.encode()).hexdigest()[:32]}-{index}"


def handle(path: str, req: InboundRequest, now: datetime) -> tuple[dict, int]:
    """Store what one webhook delivery says; return the JSON answer and its status code."""
    name, source = _source(path)
    if source is None:
        raise NotFound(f"unknown source {name[:40]!r}; known: {', '.join(REGISTRY)}")
    source.authenticate(req, settings())
    alerts = source.parse(req)
    cfg = config()
    request_id = source.delivery_id(req)
    if not alerts:
        log.info("delivery acknowledged and ignored", source=name, request_id=request_id)
        return {"incident": None, "status": "ignored"}, 200
    timer = clock()
    started = timer.monotonic()
    outcomes = []
    for index, alert in enumerate(alerts):
        claim = claim_for(name, request_id, index) if request_id else None
        if getattr(source, "BY_INCIDENT", False):  # GitHub: an incident's own issue, closed or reopened there
            outcome = issues.apply(alert, cfg, now, claim)
        else:
            outcome = incidents.ingest(alert, cfg, now, claim, sends=True)   # sent below, without a claim's read
        log.info("alert ingested", source=name, incident=outcome.incident, status=outcome.status,
                 action=alert.action.value, request_id=request_id)
        outcomes.append(outcome)
    due = [rid for o in outcomes for rid in o.notify]
    if due:  # send now; answer within Sentry's 1 s whether or not the vendor has answered yet
        delivery.deliver_soon(due, cfg, settings(), now, DELIVERY_WAIT - (timer.monotonic() - started))
    if hasattr(source, "answer"):  # a format with its own answer (PagerDuty's 202)
        return source.answer(alerts, outcomes)
    answer: dict = {"incident": outcomes[0].incident, "status": outcomes[0].status}
    if len(outcomes) > 1:
        answer["incidents"] = [{"incident": o.incident, "status": o.status} for o in outcomes]
    return answer, 200
