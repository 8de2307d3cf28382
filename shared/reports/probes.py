"""Built-in health probes, the sweep's last step: GET each service's `health` URLs when due, store every result,
and open or resolve an incident exactly as an UptimeRobot monitor would (source `probe`, level `down`).

A URL is due once per `probes.interval` slot (slots are counted from the epoch, so a missed sweep does not shift
them). All due URLs are probed at once, each within its own timeout and all within PROBE_BUDGET, after the
escalation work, so a slow URL never delays a page. `failures_to_alert` failures in a row open the incident, the
first success after it resolves it with the downtime; a URL that changes `flap_changes` times within
`flap_window` is reported once as flapping and then left alone until it has been stable for a whole window.
A transition is stored with the result (store/probes.py `pending`) and handed to the ingest use case under a
claim per (url, transition time), so an overlapping sweep or a retry after a crash opens it once.
"""
from __future__ import annotations

import functools
import ssl
import threading
from datetime import datetime, timedelta

from shared import log
from shared.clock import clock
from shared.config import Config, HealthCheck, Probes, seconds
from shared.config.frozen import frozen
from shared.config.settings import Settings
from shared.errors import Unavailable
from shared.incidents import ingest as incidents
from shared.lazy import httpx
from shared.model import Action, Alert
from shared.notify import delivery
from shared.rules import uptime
from shared.rules.text import quoted
from shared.store import probes as store

SOURCE = "probe"
ACTOR = "Health probe"
PROBE_BUDGET = 10.0     # seconds all probes of one sweep take at most (each probe's timeout is capped by it)
DELIVERY_BUDGET = 5.0   # seconds to send what a probe opened; the rest stays due for the next sweep
MAX_PROBES = 32         # per sweep (one thread each); any more stay due and go first next time
MAX_BODY = 256 * 1024   # bytes read looking for expect_text
USER_AGENT = "incident-response-health-probe/1"


@frozen
class Target:
    """One health URL of one service."""

    service: str
    check: HealthCheck

    @property
    def key(self) -> str:
        return store.probe_key(self.service, self.check.url)

    @property
    def dedup_key(self) -> str:
        return f"probe:{self.service}:{self.check.url}"


def targets(cfg: Config) -> list[Target]:
    """Return every health URL the team file lists."""
    return [Target(s.name, c) for s in cfg.services for c in s.health]


# ---------------------------------------------------------------- probing (I/O)

def _result(at: datetime, ok: bool, status: int | None, ms: float | None, reason: str) -> dict:
    return {"at": at, "ok": ok, "status": status, "ms": None if ms is None else round(ms, 1), "reason": reason[:200]}


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every probe: making one loads the system's CA certificates (about 20 ms of CPU)."""
    return ssl.create_default_context()


def probe(check: HealthCheck, at: datetime, timeout: float, holder: dict | None = None) -> dict:
    """GET one health URL and judge the answer; never raises (a failure is a result with its reason)."""
    timer = clock()
    started = timer.monotonic()
    try:
        with httpx.Client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT},
                          verify=_tls()) as http:
            if holder is not None:
                holder["client"] = http  # so the sweep can cut a trickling answer off at the deadline
            with http.stream("GET", check.url) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY:
                        break
        ms = (timer.monotonic() - started) * 1000
        if ms > timeout * 1000:  # each read was in time, the whole answer was not
            raise httpx.TimeoutException("the whole answer took longer than the timeout")
    except httpx.TimeoutException:
        return _result(at, False, None, None, f"no answer within {timeout:g} s")
    except httpx.ConnectError as e:
        text = str(e).lower()
        return _result(at, False, None, None, "connection refused" if "refused" in text else f"cannot connect: {e}")
    except (httpx.HTTPError, OSError, RuntimeError) as e:  # RuntimeError: the client was closed at the deadline
        return _result(at, False, None, None, f"{type(e).__name__}: {e}")
    if response.status_code != check.expect_status:
        return _result(at, False, response.status_code, ms, f"HTTP {response.status_code} (expected "
                                                            f"{check.expect_status})")
    if check.expect_text and check.expect_text not in body.decode(response.encoding or "utf-8", "replace"):
        return _result(at, False, response.status_code, ms, f"the answer lacks {quoted(check.expect_text)}")
    return _result(at, True, response.status_code, ms, "")


def probe_all(due: list[Target], at: datetime, budget: float) -> dict[str, dict]:
    """Probe every target at once, each within its own timeout and all within `budget`; return results by key."""
    timer = clock()
    started = timer.monotonic()
    answers: dict[str, dict] = {}
    holders: dict[str, dict] = {t.key: {} for t in due}
    limits = {t.key: min(t.check.timeout_seconds, budget) for t in due}

    def run(target: Target) -> None:
        try:
            answers[target.key] = probe(target.check, at, limits[target.key], holders[target.key])
        except Exception as e:  # a bug in judging one answer must not cost the other probes
            answers[target.key] = _result(at, False, None, None, f"{type(e).__name__}: {e}")

    threads = [(t, threading.Thread(target=run, args=(t,), name="probe", daemon=True)) for t in due]
    for _, thread in threads:
        thread.start()
    results: dict[str, dict] = {}
    for target, thread in threads:
        # a trickling answer: httpx's timeouts are per read, ours is for the whole answer
        if not timer.join(thread, started + limits[target.key] - timer.monotonic()):
            client = holders[target.key].get("client")
            if client is not None:
                client.close()
            results[target.key] = _result(at, False, None, None, f"no answer within {limits[target.key]:g} s")
        else:
            results[target.key] = answers[target.key]
    return results


# ---------------------------------------------------------------- the rule (pure)

def advance(state: dict, result: dict, rules: Probes) -> tuple[dict, list[dict]]:
    """Return the URL's next state after `result` and the transitions to report (down, flapping, up)."""
    now, ok = result["at"], result["ok"]
    window = timedelta(seconds=seconds(rules.flap_window))
    changes = [c for c in state.get("changes") or [] if c > now - window]
    if state.get("last_ok") is not None and state["last_ok"] != ok:
        changes.append(now)
    failures = 0 if ok else int(state.get("failures") or 0) + 1
    is_open, flapping, since = bool(state.get("open")), bool(state.get("flapping")), state.get("since")
    if not is_open:
        since = None if ok else (since if failures > 1 and since else now)  # the first failure of this run
    out: list[dict] = []

    def transition(kind: str, reason: str, **extra) -> None:
        out.append({"id": f"{kind}-{int(now.timestamp())}", "kind": kind, "at": now, "since": since,
                    "reason": reason, **extra})

    if flapping:
        if not changes:  # stable for a whole window: report again as usual
            flapping = False
            if ok and is_open:
                transition("up", "", downtime_seconds=int((now - since).total_seconds()) if since else 0)
                is_open, since = False, None
    elif len(changes) >= rules.flap_changes:
        flapping = True
        since = since or now
        transition("flapping", f"{len(changes)} up/down changes in {rules.flap_window}"
                   + (f", last: {result['reason']}" if not ok else ""))
        is_open = True
    elif not ok and failures >= rules.failures_to_alert and not is_open:
        transition("down", result["reason"])
        is_open = True
    elif ok and is_open:
        transition("up", "", downtime_seconds=int((now - since).total_seconds()) if since else 0)
        is_open, since = False, None
    return {"failures": failures, "open": is_open, "flapping": flapping, "since": since, "changes": changes,
            "last_ok": ok}, out


def alert_for(target: Target, transition: dict) -> Alert:
    """Return the alert a transition stands for, shaped like UptimeRobot's down and up."""
    name, url = target.service, target.check.url
    common = {"source": SOURCE, "dedup_key": target.dedup_key, "level": "down", "level_table": "uptimerobot",
              "project": name, "location": url, "links": {"health": url}, "actor": ACTOR}
    if transition["kind"] == "up":
        downtime = int(transition.get("downtime_seconds") or 0)
        return Alert(action=Action.RESOLVE, title=f"{name} is up", message=f"{url} answers again",
                     detail=f"health check passing again after {downtime} s down",
                     extra={"downtime_seconds": downtime}, **common)
    word = "flapping" if transition["kind"] == "flapping" else "down"
    title = f"{name} is {word}: {transition['reason']}"
    return Alert(action=Action.TRIGGER, title=title, message=f"{url}: {transition['reason']}", detail=title,
                 occurred_at=transition.get("since") or transition["at"], **common)


# ---------------------------------------------------------------- the sweep step

def slot_of(now: datetime, rules: Probes) -> int:
    return int(now.timestamp()) // seconds(rules.interval)


STAGE_BUDGET = PROBE_BUDGET + DELIVERY_BUDGET   # seconds the sweep gives the probes at most, sends included


def run(cfg: Config, settings: Settings, now: datetime, budget: float = STAGE_BUDGET) -> dict:
    """Probe the URLs that are due, store the results and report transitions, all within `budget` seconds (sends
    in flight included); return counts for the sweep."""
    counts = {"probed": 0, "probe_failures": 0, "probe_alerts": 0}
    every = targets(cfg)
    if not every:
        return counts
    try:
        _run(cfg, settings, now, budget, every, counts)
    except Unavailable as e:  # the sweep's escalation work is done and must still be recorded; the next one probes
        log.error("health probes failed", error=type(e).__name__, reason=str(e)[:300])
    except Exception as e:  # a bug: the same, and Error Reporting hears of it
        log.report(e, "health probes failed")
    return counts


def _run(cfg: Config, settings: Settings, now: datetime, budget: float, every: list[Target], counts: dict) -> None:
    timer = clock()
    started = timer.monotonic()
    slot = slot_of(now, cfg.probes)
    stored = store.states([t.key for t in every])
    due = [t for t in every if stored.get(t.key, {}).get("slot", -1) < slot]
    due.sort(key=lambda t: stored.get(t.key, {}).get("slot", -1))
    results = probe_all(due[:MAX_PROBES], now, min(PROBE_BUDGET, budget))
    for target in due[:MAX_PROBES]:
        result = results[target.key]
        doc = store.record(target.key, target.service, target.check.url, slot, result,
                           lambda state, r=result: advance(state, r, cfg.probes))
        if doc is None:
            continue  # an overlapping sweep recorded this slot
        stored[target.key] = doc
        counts["probed"] += 1
        counts["probe_failures"] += not result["ok"]
    notify: list[str] = []
    for target in every:
        for transition in (stored.get(target.key) or {}).get("pending") or []:
            claim = f"probe-{target.key}-{transition['id']}"
            try:
                outcome = incidents.ingest(alert_for(target, transition), cfg, now, claim)
            except Exception as e:  # it stays pending: the next sweep hands it over again, under the same claim
                log.error("health probe transition not reported", service=target.service,
                          transition=transition["kind"], error=type(e).__name__, reason=str(e)[:300])
                break  # keep a URL's transitions in order
            log.info("health probe transition", incident=outcome.incident, status=outcome.status,
                     service=target.service, transition=transition["kind"])
            store.clear_pending(target.key, transition["id"])
            counts["probe_alerts"] += outcome.status in ("created", "resolved", "duplicate")
            notify += outcome.notify
    sending = min(DELIVERY_BUDGET, budget - (timer.monotonic() - started) - settings.send_timeout)
    if notify and sending > 0:  # a send that starts may take its whole timeout; the rest goes with the next sweep
        delivery.deliver(notify, cfg, settings, now, sending)


# ---------------------------------------------------------------- readers (the daily summary)

def response_times(start: datetime, end: datetime) -> dict[str, dict]:
    """Return per service the probes' average response time (answered probes) and share of successes in
    [start, end): {"avg_ms", "samples", "failed", "percent_ok"}."""
    out: dict[str, dict] = {}
    for r in store.results_between(start, end):
        s = out.setdefault(r["service"], {"ms": [], "samples": 0, "failed": 0})
        s["samples"] += 1
        s["failed"] += not r["ok"]
        if r.get("ms") is not None:
            s["ms"].append(r["ms"])
    return {name: {"avg_ms": round(sum(s["ms"]) / len(s["ms"]), 1) if s["ms"] else None, "samples": s["samples"],
                   "failed": s["failed"], "percent_ok": round(100.0 * (s["samples"] - s["failed"]) / s["samples"], 2)}
            for name, s in out.items()}


def down_intervals(start: datetime, end: datetime) -> dict[str, list[uptime.Interval]]:
    """Return per service the intervals its probes saw it down in [start, end): from a failed probe to the next
    successful one of the same URL (or `end`), merged across its URLs."""
    runs: dict[tuple[str, str], datetime | None] = {}
    out: dict[str, list[uptime.Interval]] = {}
    for r in store.results_between(start, end):
        url = (r["service"], r["url"])
        if not r["ok"] and runs.get(url) is None:
            runs[url] = r["at"]
        elif r["ok"] and runs.get(url) is not None:
            out.setdefault(r["service"], []).append((runs[url], r["at"]))
            runs[url] = None
    for (service, _), began in runs.items():
        if began is not None:
            out.setdefault(service, []).append((began, end))
    return {name: uptime.merged(intervals) for name, intervals in out.items()}
