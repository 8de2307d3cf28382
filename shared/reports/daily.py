"""The daily summary: how the previous local day went, in one message to the alerts channel, stored once.

Uptime comes from the down/up intervals of outage incidents (UptimeRobot, health probes) clipped to the day,
one outage reported by two sources counted once; requests and error rate from Sentry's stats API; incidents,
top errors, action items and SLA notes from the incidents themselves. A figure with no configured source
says so; none is invented. Running a day twice posts nothing new; days missed in the last week are caught up.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from shared.channels import render
from shared.config import Config
from shared.config.settings import Settings
from shared.errors import BadInput, NotFound
from shared.model import Incident, Severity
from shared.notify import plan
from shared.reports import action_items, corrections, probes
from shared.rules import metrics, routing, silence, uptime
from shared.rules import status_page as status_rules
from shared.rules.text import quoted
from shared.status import page as status_page
from shared.store import incidents as store
from shared.store import outbox, reports
from shared.vendors import sentry as sentry_api

CATCH_UP_DAYS = 3          # a run also makes the reports of this many days before, when they are missing
OUTAGE_LOOKBACK = timedelta(days=7)   # an outage that started longer ago than this is not counted
NO_SOURCE = "n/a (no source configured)"
EMOJI = {Severity.CRITICAL: "🔴", Severity.HIGH: "🟠", Severity.MEDIUM: "🟡", Severity.LOW: "🟢"}


def day_window(day: date, cfg: Config) -> tuple[datetime, datetime]:
    """Return the local day [midnight, next midnight) as aware datetimes in the team's zone."""
    start = datetime.combine(day, time(0), tzinfo=cfg.team.zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=cfg.team.zone)


def previous_day(now: datetime, cfg: Config) -> date:
    return now.astimezone(cfg.team.zone).date() - timedelta(days=1)


def _uptime(incidents: list[Incident], start: datetime, end: datetime, cfg: Config, settings: Settings) -> dict:
    """Each watched service's uptime as the status page shows it for the day (one computation:
    status_page.service_uptime), and overall: any service down counted once, the longest maintenance left out."""
    down = {i.service for i in incidents if status_rules.is_outage(i)}
    watched = {s.name for s in cfg.services if s.monitors or s.health} | down
    if not watched and not settings.uptimerobot_api_key:
        return {"percent": None, "downtime_minutes": None, "services": {}, "note": NO_SOURCE}
    windows = [o for w in cfg.maintenance for o in silence.occurrences(w, start, end, cfg)]
    services, everything, held = {}, [], 0
    for name in sorted(watched):
        figures = status_rules.service_uptime(name, incidents, windows, start, end)
        services[name] = {k: v for k, v in figures.items() if k != "maintenance_minutes" or v}
        everything += uptime.without(status_rules.outages(name, incidents, end), status_rules.planned(name, windows))
        held = max(held, figures["maintenance_minutes"])
    overall = uptime.downtime(everything, start, end)
    note = f"maintenance left out ({held} min)" if held else None
    return {"percent": round(uptime.percent_up(overall, start, end - timedelta(minutes=held)), 2),
            "downtime_minutes": uptime.minutes(overall), "services": services, "note": note}


def _traffic(start: datetime, end: datetime, cfg: Config, settings: Settings) -> dict:
    try:
        counted = sentry_api.counts(settings, cfg.sentry.organization, start, end)
    except sentry_api.StatsUnavailable as e:
        note = str(e) if str(e) == "no source configured" else f"Sentry: {e}"
        return {"requests": None, "errors": None, "error_rate": None, "note": f"n/a ({note})"}
    requests, errors = counted["transaction"], counted["error"]
    return {"requests": requests or None, "errors": errors,
            "error_rate": round(100.0 * errors / requests, 2) if requests else None,
            "note": None if requests else "n/a (Sentry counted no transactions: performance monitoring is off)"}


def _response_time(start: datetime, end: datetime) -> dict:
    """The health probes' answer times over the day: per service, and overall the mean of the services'."""
    measured = {name: m["avg_ms"] for name, m in sorted(probes.response_times(start, end).items())
                if m["avg_ms"] is not None}
    if not measured:
        return {"avg_ms": None, "note": NO_SOURCE, "services": {}}
    return {"avg_ms": round(sum(measured.values()) / len(measured), 1), "note": None, "services": measured}


def compose(day: date, cfg: Config, settings: Settings, now: datetime) -> dict:
    """Return the report of one local day (facts only; `text` is the message)."""
    start, end = day_window(day, cfg)
    recent = store.incidents_created_since(start - OUTAGE_LOOKBACK, 5000, live=True)
    opened = [i for i in recent if start <= i.created_at < end and not i.invalid]
    seen = [i for i in recent if i.last_seen and start <= i.last_seen < end and not i.invalid]
    by_severity = {s.label: {"opened": sum(1 for i in opened if i.severity is s),
                             "resolved": sum(1 for i in opened if i.severity is s and i.is_resolved)}
                   for s in sorted(Severity, reverse=True)}
    top = sorted(seen, key=lambda i: (-i.occurrences, i.created_at))[:3]
    items = action_items.at_day_end(day, start, end, recent, cfg)   # owed when the day ended, not when this runs
    summary = metrics.summarize(opened)
    notes = []
    breaches = sum(s["response_sla_breached"] + s["resolution_sla_breached"] for s in summary.values())
    if breaches:
        notes.append(f"{breaches} SLA breach{'es' if breaches != 1 else ''} among the day's incidents")
    for label, figures in summary.items():
        if figures["acknowledged"] or figures["resolved"]:
            target = cfg.sla.get(label)
            tta, ttr = figures["median_time_to_acknowledge_seconds"], figures["median_time_to_resolve_seconds"]
            acknowledge = f"median time to acknowledge {_minutes(tta)}" if tta is not None else "none acknowledged"
            resolve = f"to resolve {_minutes(ttr)}" if ttr is not None else "none resolved"
            notes.append(f"{label.title()}: {acknowledge} (SLA {_term(target.respond)}), "
                         f"{resolve} (SLA {_term(target.resolve)})")
    invalid = sum(1 for i in recent if start <= i.created_at < end and i.invalid)
    if invalid:
        notes.append(f"{invalid} incident{'s' if invalid != 1 else ''} closed as invalid (not counted above)")
    report = {
        "date": day.isoformat(), "from": start, "to": end, "team": cfg.team.name,
        "uptime": _uptime(status_page.public_since(start, cfg), start, end, cfg, settings),
        "traffic": _traffic(start, end, cfg, settings),
        "response_time": _response_time(start, end),
        "by_severity": by_severity,
        "top_errors": [{"id": i.id, "title": i.title[:120], "occurrences": i.occurrences} for i in top],
        "action_items": items, "notes": notes,
    }
    report["text"] = text(report)
    return report


def _term(value: str) -> str:
    """An SLA term as people say it: '15m', 'end of sprint' (not the setting's 'end_of_sprint')."""
    return str(value).replace("_", " ")


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def text(report: dict) -> str:
    """Render the report as the team's daily template (Discord Markdown, inert alert text)."""
    ctx = {**report, "emoji": {s.label: EMOJI[s] for s in Severity},
           "top_errors": [{**e, "title": render.discord_text(e["title"])} for e in report["top_errors"]],
           "action_items": [{**a, "title": render.discord_text(a["title"])} for a in report["action_items"]]}
    return render.truncate(render.template("discord/daily.md.j2", ctx), 2000)


def check_day(day: date, over: date, cfg: Config) -> None:
    """Refuse a day whose report cannot be made (BadInput): one that is not over says when its report can run."""
    if date(2000, 1, 1) <= day <= over:
        return
    if over < day < date(2100, 1, 1):
        opens = datetime.combine(day + timedelta(days=1), time(0))
        raise BadInput(f"{day.isoformat()} is not over yet: its report can run from {opens:%Y-%m-%d %H:%M} "
                       f"({cfg.team.time_zone}); ask for a day that is over ({over.isoformat()} or before)")
    raise BadInput(f"date: expected a day that is over, from 2000-01-01 to {over.isoformat()}, got {day.isoformat()}")


def run(now: datetime, cfg: Config, settings: Settings, day: date | None = None, over: date | None = None,
        recompute: bool = False) -> dict:
    """Make and post the report of `day` (default: the previous local day), and of the days before it that a
    missed run left without one; return what was done. A day already reported is not posted again, and none
    after `over` (the last day that is over by the clock: the schedule time may run a few minutes ahead).
    `recompute`: make the target day's stored report again, store it and post a correction saying what changed
    (nothing when nothing did)."""
    target = min(day or previous_day(now, cfg), over or previous_day(now, cfg))
    days = [target]
    if day is None:  # catch up the days since the last report this job made, within CATCH_UP_DAYS
        before = [target - timedelta(days=n) for n in range(1, CATCH_UP_DAYS + 1)]
        last = next((d for d in before if reports.get_report(d.isoformat()) is not None), None)
        days = [d for d in reversed(before) if last is not None and d > last] + [target]
    made, due, correction = [], [], None
    chat = routing.team_chat(cfg)   # the team's chat: Discord, or Slack for a team that uses Slack
    for each in days:
        if reports.get_report(each.isoformat()) is not None:
            if recompute and each == target:
                correction = _correct(each.isoformat(), compose(each, cfg, settings, now), now, chat)
                due += correction["notify"]
            continue  # reported already: a re-run posts nothing new
        report = compose(each, cfg, settings, now)
        rid = outbox.record_id(f"report-{each.isoformat()}", "daily", chat)
        record = plan.text_record(rid, "daily", chat, report["text"], now)
        if not reports.save_report(each.isoformat(), {**report, "made_at": now}, [record]):
            continue  # another run made it meanwhile
        due.append(rid)
        made.append(each.isoformat())
    stored = reports.get_report(target.isoformat())
    done = {"status": "done", "date": target.isoformat(), "made": made, "notify": due,
            "report": {k: v for k, v in (stored or {}).items() if k != "made_at"}}
    if recompute:
        done.update(corrected=(correction or {}).get("n"), changes=(correction or {}).get("changes", []))
    return done


def _correct(day: str, report: dict, now: datetime, chat: str) -> dict:
    """Store the day's report made again, with the correction that posts what changed (numbered: the record of
    correction n is made once); nothing when no figure changed. Return the correction's number, its changes and
    the records to deliver now."""
    made: dict = {"n": None, "changes": [], "notify": []}

    def write(stored: dict) -> tuple[dict, list[dict]] | None:
        fresh = corrections.kept(stored, report)   # a figure its source cannot give now stays as stored
        fresh["text"] = text(fresh)
        changes = corrections.changes(stored, fresh)
        if not changes:
            made.update(n=None, changes=[], notify=[])
            return None
        n = len(stored.get("corrections") or []) + 1
        reason = f"daily-correction-{n}"
        record = plan.text_record(outbox.record_id(f"report-{day}", reason, chat), reason, chat,
                                  corrections.message(day, changes), now)
        made.update(n=n, changes=changes, notify=[record["id"]])
        return {**fresh, "corrections": [*(stored.get("corrections") or []),
                                         {"n": n, "at": now, "changes": changes}]}, [record]

    reports.correct(day, write)
    return made


def stored(day: str) -> dict:
    """GET /api/reports/<YYYY-MM-DD>: that local day's report, as stored when it was posted."""
    try:
        date.fromisoformat(day)
    except ValueError:
        raise BadInput(f"expected a day as YYYY-MM-DD, got {quoted(day)}") from None
    report = reports.get_report(day)
    if report is None:
        raise NotFound(f"no report for {day}: the daily summary has not run for it (POST /daily_summary/?date={day})")
    return {k: v for k, v in report.items() if k != "made_at"}
