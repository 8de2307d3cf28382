"""Turn alerts into incidents: dedup, occurrences, severity, resolve and regression."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from shared import oncall, silences
from shared.clock import clock
from shared.config import Config
from shared.config.frozen import frozen
from shared.errors import Closed, Contended, NotFound, Unavailable
from shared.incidents.hot import KEYS
from shared.model import MAX_TEXT, Action, Alert, Incident, Severity, Status, TimelineEntry, effective_rank
from shared.notify import plan
from shared.notify.job import LEASE
from shared.rules import hot, ids
from shared.rules.mapping import environment_for, service_for
from shared.rules.severity import Facts, classify
from shared.rules.sla import clocks
from shared.rules.workflow import step_text
from shared.store import alerts, changes, outbox, shards
from shared.store import incidents as store
from shared.store.client import AlreadyClaimed, Conflict, NotActive, is_claimed

MAX_ATTEMPTS = 8  # each retry follows a lost race, which can only happen a few times in a row
ID_LENGTH = 6     # INC-XXXXXX: 30 bits; a collision falls back to 10 characters


@frozen
class Outcome:
    """What ingesting one alert did: the incident it landed on, what happened, and what to tell people."""

    incident: str | None
    status: str  # created | updated | duplicate | replayed | resolved | ignored
    events: tuple[tuple, ...] = ()  # ("opened",), ("raised", "high"), ("resolved",), ("milestone", 100)
    # what to send now: ids of outbox records due now, or (plan.Claimed) the records this change created already
    # claimed by the caller, which sends them without claiming them (notify/delivery.py)
    notify: tuple[str | plan.Claimed, ...] = ()


def _entry(now: datetime, actor: str, action: str, detail: str = "") -> dict:
    return TimelineEntry(now, actor or "system", action, detail[:MAX_TEXT]).to_dict()


def ingest(alert: Alert, cfg: Config, now: datetime, claim: str | None = None, sends: bool = False) -> Outcome:
    """Apply one alert to stored state exactly once (a claim makes a replay change nothing). With `sends`, the
    caller sends what is due at once itself, right after: those records are stored claimed by it (plan.claim_due)
    and the Outcome carries them whole."""
    key_doc = ids.key_doc_id(alert.dedup_key)
    if alert.action is Action.TRIGGER:
        try:  # the hot path: one commit, no read
            return _occurrence(alert, cfg, now, claim, key_doc)
        except (NotActive, Conflict):
            pass  # closed, or held by a transaction (a resolve reading the shards): the commit changed nothing
        except AlreadyClaimed:  # a replayed delivery: changes nothing; name the incident it is about
            key = alerts.get_key(key_doc)
            return Outcome(key.incident_id if key else None, "replayed")
    for attempt in range(MAX_ATTEMPTS):
        key = alerts.get_key(key_doc)
        try:
            outcome = _apply(alert, cfg, now, claim, key_doc, key, retry=attempt > 0, sends=sends)
        except (Conflict, Contended, NotActive):
            continue  # someone else moved this key first, holds it, or closed its incident: read it again
        except AlreadyClaimed:
            return Outcome(key.incident_id if key else None, "replayed")
        # a change found already made wrote nothing, so its claim, if any, is an earlier delivery's: a replay
        if outcome.status == "duplicate" and alert.action is not Action.TRIGGER and claim and is_claimed(claim):
            return Outcome(outcome.incident, "replayed")
        return outcome
    raise Unavailable(f"gave up after {MAX_ATTEMPTS} conflicting writes on one dedup key")


def _apply(alert: Alert, cfg: Config, now: datetime, claim: str | None, key_doc: str,
           key: alerts.KeyState | None, retry: bool, sends: bool = False) -> Outcome:
    active = key is not None and key.live is not None
    if alert.action is Action.TRIGGER:
        if active:  # opened by someone else since the hot path looked
            return _occurrence(alert, cfg, now, claim, key_doc)
        return _open(alert, cfg, now, claim, key_doc, key, retry, sends)
    if key is None:
        if alert.action is Action.REOPEN:
            return _open(alert, cfg, now, claim, key_doc, key, retry, sends)
        return Outcome(None, "ignored")  # nothing to resolve, assign or mute
    if alert.action is Action.ACKNOWLEDGE:
        if not active:
            return Outcome(key.incident_id, "duplicate")  # like PagerDuty: an ack for a closed key is dropped
        try:
            done = changes.take_step(key.incident_id, alert.actor, now,
                                   _entry(now, alert.actor, "acknowledged", alert.detail), acknowledge=True, phase=None,
                                   outbox_for=lambda i: _source_step(key, i.environment, "ack", alert, now, cfg))
        except (Closed, NotFound):
            return Outcome(key.incident_id, "duplicate")  # resolved meanwhile
        if not done["first"]:
            return Outcome(key.incident_id, "duplicate")
        return Outcome(key.incident_id, "updated", (), tuple(done["notify"]))
    if alert.action is Action.ASSIGN:
        alerts.annotate(key.incident_id, {"assignee": alert.extra.get("assignee", "")},
                       _entry(now, alert.actor, "assigned", alert.detail), claim, now)
        return Outcome(key.incident_id, "updated")
    if alert.action is Action.RESOLVE:
        if not active:
            return Outcome(key.incident_id, "duplicate")
        fields = {"resolved_at": now, "active": False}
        if "downtime_seconds" in alert.extra:
            fields["downtime_seconds"] = alert.extra["downtime_seconds"]
        environment = _environment(key, alert, cfg)
        records = plan.on_resolve(key.incident_id, environment, now, cfg) + \
            _source_step(key, environment, "resolve", alert, now, cfg)
        records = plan.next_round(records, (key.live or {}).get("reopens") or 0)   # reopened on GitHub
        records, notify = _to_send(records, sends)
        alerts.change_status(key.incident_id, key_doc, Status.RESOLVED.value, fields,
                            _entry(now, alert.actor, "resolved", alert.detail or f"resolved by {alert.source}"),
                            claim, now, close=True, outbox=records)
        return Outcome(key.incident_id, "resolved", (("resolved",),), notify)
    if alert.action is Action.IGNORE:
        if key.status == Status.IGNORED.value or not active:
            return Outcome(key.incident_id, "duplicate")
        alerts.change_status(key.incident_id, key_doc, Status.IGNORED.value, {"next_check_at": None},
                            _entry(now, alert.actor, "ignored", alert.detail), claim, now, close=False,
                            live_fields={"muted": 1})   # its events still count, silently (_evaluate)
        return Outcome(key.incident_id, "updated")
    if alert.action is Action.REOPEN:
        if key.status == Status.IGNORED.value and active:
            alerts.change_status(key.incident_id, key_doc, Status.OPEN.value, {"next_check_at": now},
                                _entry(now, alert.actor, "reopened", alert.detail), claim, now, close=False,
                                live_fields={"muted": 0})
            KEYS.try_again(key_doc)   # a hot key's rises and milestones this process passed over while muted
            return Outcome(key.incident_id, "updated")
        if active:
            return Outcome(key.incident_id, "duplicate")
        return _open(alert, cfg, now, claim, key_doc, key, retry, sends)
    raise ValueError(f"unhandled action {alert.action}")


def _source_step(key: alerts.KeyState, environment: str, step: str, alert: Alert, now: datetime,
                 cfg: Config) -> list[dict]:
    """The thread reply for a step a source took (Sentry resolved it, PagerDuty acknowledged it): number 0, since a
    source takes each step at most once per incident."""
    live = key.live or {}
    severity = Severity(effective_rank(int(live.get("severity_rank", 1)), live.get("pinned_rank") or 0))
    return plan.on_step(key.incident_id, severity, environment, 0, step,
                        step_text(step, alert.actor or alert.source, now, cfg), now, cfg)


def _environment(key: alerts.KeyState, alert: Alert, cfg: Config) -> str:
    """Return the environment of the key's incident (stored with it when it opened)."""
    return (key.live or {}).get("environment") or environment_for(alert, cfg)


def _open(alert: Alert, cfg: Config, now: datetime, claim: str | None, key_doc: str,
          previous: alerts.KeyState | None, retry: bool, sends: bool = False) -> Outcome:
    generation = previous.generation + 1 if previous else 1
    service, environment = service_for(alert, cfg), environment_for(alert, cfg)
    verdict = classify(Facts(alert, service, environment, occurrences=1, users=alert.users or 0), cfg)
    id_length = ID_LENGTH
    incident_id = ids.incident_id(alert.dedup_key, generation, id_length)
    if retry:  # a lost race, or a short id that another dedup key already holds
        existing = store.get_incident(incident_id)
        if existing and existing.dedup_key != alert.dedup_key:
            id_length = 10
            incident_id = ids.incident_id(alert.dedup_key, generation, id_length)
    timeline = [_entry(now, alert.actor, "opened",
                       f"{alert.source}: {alert.title}" + (f" ({alert.detail})" if alert.detail else "")),
                _entry(now, "system", "severity", f"{verdict.severity.label}: {verdict.reason}")]
    if previous:
        timeline.insert(1, _entry(now, "system", "regression", f"regression of {previous.incident_id}"))
    live = {"incident_id": incident_id, "generation": generation, "id_length": id_length, "environment": environment,
            "opened_epoch": now.timestamp(), "occurrences": 1, "users_affected": alert.users or 0,
            "severity_rank": int(verdict.severity), "last_seen": now, "latest_message": alert.message}
    extras = {k: v for k, v in alert.extra.items() if isinstance(v, (str, int, float)) and k != "assignee"}
    doc = {
        **extras,  # source-specific facts (short_id, ssl_days_left, ...); the fields below always win
        "id": incident_id, "dedup_key": alert.dedup_key, "key_doc": key_doc, "generation": generation,
        "title": alert.title, "service": service, "environment": environment,
        "source": alert.source, "links": alert.links,
        "location": alert.location, "level": alert.level, "tags": alert.tags,
        "status": Status.OPEN.value, "active": True,
        "severity_reasons": {verdict.severity.label: verdict.reason},
        "created_at": now, "updated_at": now, "first_seen": alert.occurred_at or now,
        "acknowledged_at": None, "resolved_at": None, "owner": None, "escalation_level": 1, "escalations": [],
        "pinned_rank": 0, **clocks(verdict.severity, environment, now, now, cfg),
        "previous_incident": previous.incident_id if previous else None, "timeline": timeline,
        **{k: v for k, v in live.items() if k in store.LIVE_FIELDS},
    }
    records = plan.on_open(incident_id, verdict.severity, environment, now, cfg, oncall.primary_now(now, cfg))
    quiet = silences.check(silences.facts(service, environment, alert.source, verdict.severity.label, alert.title,
                                          alert.dedup_key), now, cfg)
    if quiet:  # stored as usual; announced, and its clocks started, when the silence ends (shared/silences.py)
        records = silences.hold(records, quiet, now)
        doc["silenced_by"], entry = silences.marks(quiet, now, cfg)
        doc.update(clocks(verdict.severity, environment, quiet["until"], now, cfg), next_check_at=quiet["until"])
        timeline.append(entry)
    records, notify = _to_send(records, sends, Incident.from_doc(doc))
    alerts.open_incident(doc, live, key_doc, previous, [claim] if claim else [], now, outbox=records)
    return Outcome(incident_id, "created", (("opened",),), notify)


def _to_send(records: list[dict], sends: bool, incident: Incident | None = None
             ) -> tuple[list[dict], tuple[str | plan.Claimed, ...]]:
    """Return the records to store and what the Outcome tells the caller to send: the records due now claimed by a
    caller that sends them itself (with the incident as this change stores it, when known), else their ids."""
    if not sends:
        return records, tuple(plan.due_now(records))
    records = plan.claim_due(records, clock().now() + LEASE)
    return records, tuple(plan.Claimed(r, incident) for r in plan.claimed(records))


def _occurrence(alert: Alert, cfg: Config, now: datetime, claim: str | None, key_doc: str) -> Outcome:
    """Count a duplicate on live/{key} (a cold key) or on one of its shards (a hot key): one commit, no read."""
    fields = {"last_seen": now, "latest_message": alert.message}
    route, shard = KEYS.route(key_doc)
    if route == "shard-key":  # this process sees a storm on the key: spread its counters first (or wider)
        sharded = None
        try:
            sharded = shards.shard_key(key_doc, shard)
        finally:
            KEYS.sharded(key_doc, sharded)
        route, shard = KEYS.route(key_doc, may_shard=False)
    if route == "shard":
        try:
            got = shards.count_on_shard(key_doc, shard, fields, alert.users, claim, now)
        except NotActive:
            KEYS.forget(key_doc)  # its shards went with the incident that closed
            raise
        generation = int(got["generation"])
        reached = KEYS.counted_on_shard(key_doc, shard, generation, int(got["occurrences"]), int(got["shards"]))
        counted = alerts.Occurrence(generation=generation, id_length=int(got["id_length"]), occurrences=reached,
                                   opened_epoch=float(got["opened_epoch"]), severity_rank=int(got["severity_rank"]),
                                   users=max(int(got["users_affected"]), alert.users or 0),
                                   pinned_rank=int(got["pinned_rank"]), shards=1)
        return _evaluate(alert, cfg, now, key_doc, counted)
    try:
        counted = alerts.count_occurrence(key_doc, fields, alert.users, claim, now)
    except BaseException:
        KEYS.written(key_doc, None, 0, 0)
        raise
    KEYS.written(key_doc, counted.generation, counted.occurrences, counted.shards)
    if counted.shards:  # sharded by another instance: live/{key}'s count is a part of the key's
        counted = replace(counted, occurrences=KEYS.lower_bound(key_doc))
    return _evaluate(alert, cfg, now, key_doc, counted)


def _rises(severity: Severity, counted: alerts.Occurrence) -> bool:
    """Whether a duplicate raises its incident to `severity`: not when a person pinned it, nor while it is ignored at
    its source (Sentry's archive), whose events it still counts, silently."""
    return severity > counted.severity_rank and not counted.pinned_rank and not counted.muted


def _evaluate(alert: Alert, cfg: Config, now: datetime, key_doc: str, counted: alerts.Occurrence) -> Outcome:
    """Apply the severity rules and milestones to a counted duplicate.

    A cold key's count is exact: each count is seen by exactly one writer, which announces its milestone. A hot
    key's count (counted.shards) is one it has certainly reached: whoever first sees it past a milestone
    announces it, the outbox record's id keeping it once; a rise is checked against live/{key} first (the
    shards' copy of severity and pin is the one from when the key was sharded).
    """
    incident_id = ids.incident_id(alert.dedup_key, counted.generation, counted.id_length)
    service, environment = service_for(alert, cfg), environment_for(alert, cfg)
    minutes_open = max(now.timestamp() - counted.opened_epoch, 0.0) / 60.0
    verdict = classify(Facts(alert, service, environment, counted.occurrences, counted.users, minutes_open), cfg)
    events: list[tuple] = []
    records: list[dict] = []
    rises = _rises(verdict.severity, counted)
    if rises and counted.shards:  # confirm on live/{key}: one read, once per rank in this process
        rises = False
        live = alerts.live_counters(key_doc) if KEYS.first_time(key_doc, "rank", [int(verdict.severity)]) else None
        if live and live.get("generation") == counted.generation:
            counted = replace(counted, severity_rank=int(live.get("severity_rank", 0)),
                              pinned_rank=int(live.get("pinned_rank") or 0), muted=bool(live.get("muted")))
            rises = _rises(verdict.severity, counted)
    if rises:
        was = Severity(counted.severity_rank).label
        # this alert may have arrived before the one that opened the incident won the race to store it
        at = max(now, datetime.fromtimestamp(counted.opened_epoch, timezone.utc))
        raise_records = plan.on_raise(incident_id, verdict.severity, environment, at, cfg, oncall.primary_now(at, cfg))
        entry = _entry(at, "system", "severity", f"{was} -> {verdict.severity.label}: {verdict.reason}")
        opened_at = datetime.fromtimestamp(counted.opened_epoch, timezone.utc)
        due = clocks(verdict.severity, environment, opened_at, at, cfg)
        if alerts.raise_severity(incident_id, key_doc, int(verdict.severity), verdict.severity.label, verdict.reason,
                                entry, at, outbox=raise_records, due=due):
            events.append(("raised", verdict.severity.label))
            records += raise_records
    if counted.muted:
        reached = []
    elif not counted.shards:  # exactly one writer sees each count
        reached = [counted.occurrences] if counted.occurrences in cfg.notifications.milestones else []
    else:
        reached = KEYS.first_time(key_doc, "milestone",
                                  hot.milestones_reached(cfg.notifications.milestones, counted.occurrences, ()))
        if reached and (alerts.live_counters(key_doc) or {}).get("muted"):  # a shard does not know: one read
            reached = []   # (at most once a milestone in this process)
    for count in reached:
        milestone = plan.on_milestone(incident_id, count, environment, now, cfg)
        created = [r for r, new in zip(milestone, outbox.enqueue(milestone), strict=True) if new]
        if created or not milestone:
            events.append(("milestone", count))
        records += created
    return Outcome(incident_id, "duplicate", tuple(events), tuple(plan.due_now(records)))
