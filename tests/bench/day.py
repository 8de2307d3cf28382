"""One day of the Petties team's traffic against the emulator (Discord in bot mode: every feature on), and the
Firestore reads, writes and deletes it costs beside the free tier's daily quota.

The day (a Tuesday, simulated minute by minute; every function's real entry point, in process, on a
simulated clock):
  - 167 Sentry alerts (5,000 a month / 30), over 12 issues; one of them fatal (Critical: paged, emailed,
    escalated until acknowledged)
  - UptimeRobot on the free plan: 3 monitors checked every 5 minutes by UptimeRobot; the sweep polls its API
    once a minute (API key set), and one monitor is down for 15 minutes; a fourth monitor checks
    /ingest/health every 5 minutes (who watches the watchman)
  - 1,440 sweeps (Cloud Scheduler every minute), the daily report at 09:00 local
  - a few human actions: the Critical acknowledged and resolved, 3 incidents acknowledged and 2 resolved,
    the open incidents listed 20 times, the public status page viewed 96 times (every 15 minutes)
Discord, GitHub and SMTP are the local fakes, so every notification goes through the outbox as in
production. TTL deletes are not billed against the free quota's deletes (they need billing on; $0.02 per
100,000): the documents with a TTL written today are what TTL deletes each day in steady state.
"""
from __future__ import annotations

import copy
import json
import os
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import httpx

from shared.config.settings import settings
from shared.notify import delivery
from shared.store.client import client
from shared.web import http as web
from tests.bench.__main__ import ISSUE, signed
from tests.fakes.discord import FakeDiscord
from tests.fakes.firestore_tap import tap_product
from tests.fakes.github import FakeGitHub
from tests.fakes.smtp import SmtpServer
from tests.fakes.uptimerobot import FakeUptimeRobot

START = datetime(2026, 11, 24, 0, 0, tzinfo=timezone.utc)     # 07:00 local, a Tuesday
QUOTA = {"reads": 50_000, "writes": 20_000, "deletes": 20_000}  # https://cloud.google.com/firestore/quotas
SENTRY_PER_DAY = 167
ISSUES = 12
SERVICES = ("petties-backend", "petties-web", "ai-service")
MONITORS = {"1001": "https://petties.world", "1002": "https://api.petties.world/health",
            "1003": "https://ai.petties.world/health"}
TTL_COLLECTIONS = ("claims", "outbox", "previews", "probe_days")
BOT_ALERTS, BOT_STAGING = "400000000000000001", "400000000000000002"   # the bot's channels in the fake Discord


class SimClock:
    def __init__(self):
        self.at = START

    def __call__(self) -> datetime:
        return self.at


def sentry_alert(issue: int) -> tuple[bytes, dict]:
    payload = copy.deepcopy(ISSUE)
    payload["data"]["issue"]["id"] = f"day-{issue}"
    payload["data"]["issue"]["title"] = f"Error {issue} in the booking flow" if issue else "Database is unavailable"
    payload["data"]["issue"]["level"] = "fatal" if issue == 0 else "error"
    payload["data"]["issue"]["project"]["slug"] = SERVICES[issue % len(SERVICES)]
    return signed(payload)


def wipe() -> None:
    host, project = os.environ["FIRESTORE_EMULATOR_HOST"], client().project
    httpx.delete(f"http://{host}/emulator/v1/projects/{project}/databases/(default)/documents",
                 timeout=30).raise_for_status()


def main() -> None:
    import functions_framework

    # Discord in bot mode, every feature on: buttons, a thread per alert, and the sweep reading reactions
    discord = FakeDiscord(webhook_id="100", token="bench", rate_limit=10_000, rate_window=1.0,
                          bot_token="bench-bot").serve()
    discord.add_channel(BOT_ALERTS, "petties-alerts")
    discord.add_channel(BOT_STAGING, "petties-alerts-dev")
    github = FakeGitHub(tokens=("bench",), repos=("petties/petties",), rate_limit=100_000).serve()
    smtp = SmtpServer(user="bench", password="bench").serve()
    uptime = FakeUptimeRobot(api_key="bench-ur").serve()
    for monitor, url in MONITORS.items():
        uptime.add_monitor(monitor, url)
    os.environ.update({"DISCORD_WEBHOOK_URL": discord.webhook_url("100", "bench"), "DISCORD_BOT_TOKEN": "bench-bot",
                       "DISCORD_ALERTS_CHANNEL_ID": BOT_ALERTS, "DISCORD_STAGING_CHANNEL_ID": BOT_STAGING,
                       "DISCORD_API_URL": f"{discord.base_url}/api/v10", "GITHUB_TOKEN": "bench",
                       "GITHUB_REPO": "petties/petties", "GITHUB_API_URL": github.base_url,
                       "SMTP_URL": smtp.url() + "?tls=insecure", "EMAIL_FROM": "bench@petties.world",
                       "UPTIMEROBOT_API_KEY": "bench-ur", "UPTIMEROBOT_API_URL": uptime.base_url + "/v2"})
    settings.cache_clear()
    wipe()
    apps = {name: functions_framework.create_app(target=name, source=f"functions/{name}/main.py").test_client()
            for name in ("ingest", "api", "escalate", "daily_summary", "status")}
    clock, real_now = SimClock(), web.now
    web.now = clock
    counts = tap_product()
    spent: dict[str, Counter] = {}
    stages = sweep_stages(counts)

    def counted(kind: str, app: str, method: str, path: str, **kwargs):
        before, started = counts.totals(), time.perf_counter()
        answer = getattr(apps[app], method)(path, **kwargs)
        delivery.wait_idle()   # the sends an answer left running are this request's cost
        after, took = counts.totals(), time.perf_counter() - started
        spent.setdefault(kind, Counter()).update({"calls": 1, "reads": after[0] - before[0], "ms": took * 1000,
                                                  "writes": after[1] - before[1], "deletes": after[2] - before[2]})
        return answer

    api_headers = {"Authorization": "Bearer bench-api"}
    opened: dict[int, str] = {}
    sentry_minutes = {round(i * 1440 / SENTRY_PER_DAY) for i in range(SENTRY_PER_DAY)}
    try:
        for minute in range(1440):
            clock.at = START + timedelta(minutes=minute)
            if minute in sentry_minutes:
                issue = (minute * 7) % ISSUES     # a spread of issues, each seen many times
                body, headers = sentry_alert(issue)
                answer = counted("Sentry alerts", "ingest", "post", "/sentry", data=body, headers=headers)
                assert answer.status_code == 200, answer.get_data(as_text=True)
                opened.setdefault(issue, answer.get_json()["incident"])
            if minute == 600:
                uptime.event("1002", 1, int(clock.at.timestamp()), reason="503 Service Unavailable")
            if minute == 615:
                uptime.event("1002", 2, int(clock.at.timestamp()), duration=900)
            human = _human_action(minute, opened)
            if human:
                path, payload = human
                answer = counted("human actions", "api", "post", path, json=payload, headers=api_headers)
                assert answer.status_code in (200, 409), (path, answer.get_data(as_text=True))
            if minute % 72 == 0:
                counted("incident lists (API)", "api", "get", "/incidents?status=open", headers=api_headers)
            if minute % 15 == 0:
                counted("status page views", "status", "get", "/")
            if minute % 5 == 0:   # UptimeRobot's keyword monitor on the alerting system itself
                counted("health checks (/ingest/health)", "ingest", "get", "/health")
            stamp = {"X-CloudScheduler-ScheduleTime": clock.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "X-CloudScheduler-JobName": "escalate-every-minute"}
            answer = counted("sweeps (every minute)", "escalate", "post", "/", headers=stamp)
            assert answer.status_code == 200, answer.get_data(as_text=True)
            if minute == 120:   # 09:00 local
                stamp["X-CloudScheduler-JobName"] = "daily-summary"
                answer = counted("daily report", "daily_summary", "post", "/", headers=stamp)
                assert answer.status_code == 200, answer.get_data(as_text=True)
        ttl_docs = {name: sum(1 for _ in client().collection(name).select([]).stream()) for name in TTL_COLLECTIONS}
    finally:
        web.now = real_now
        for fake in (discord, github, uptime, smtp):
            fake.stop()
    report(spent, ttl_docs, stages)


# The sweep's stages, by the name shared/sweep calls them under: (module holding the name, name, what it is).
STAGES = (("shared.sweep", "claim_run", "claim the minute (at most once)"),
          ("shared.sweep", "silences", "silences that ended"),
          ("shared.sweep", "reactions", "reactions (Discord bot mode)"),
          ("shared.sweep", "escalations", "escalation steps due"),
          ("shared.sweep", "hot_sweep", "a storm's milestones"),
          ("shared.sweep", "handoff", "the weekly handoff"),
          ("shared.sweep", "status_updates", "status-update reminders"),
          ("shared.sweep", "sweep", "the outbox"),
          ("shared.sweep", "postmortems", "postmortem drafts"),
          ("shared.sweep", "polling", "UptimeRobot polling"),
          ("shared.sweep", "probes", "health probes"),
          ("shared.sweep", "health", "the sweep's health record"),
          ("shared.sweep", "finish_run", "finish the minute"))


class _Counted:
    """Stands in for a module or function the sweep calls: each call through it adds its Firestore operations to
    `into` (calls within calls are counted once, by the outermost stage)."""

    depth = 0

    def __init__(self, target, counts, into: Counter):
        self._target, self._counts, self._into = target, counts, into

    def __call__(self, *args, **kwargs):
        if _Counted.depth:
            return self._target(*args, **kwargs)
        _Counted.depth += 1
        before = self._counts.totals()
        try:
            return self._target(*args, **kwargs)
        finally:
            _Counted.depth -= 1
            after = self._counts.totals()
            self._into.update({"reads": after[0] - before[0], "writes": after[1] - before[1]})

    def __getattr__(self, name):
        value = getattr(self._target, name)
        return _Counted(value, self._counts, self._into) if callable(value) else value


def sweep_stages(counts) -> dict[str, Counter]:
    """Wrap each of the sweep's stages so the day's reads and writes are told by stage."""
    import importlib

    spent: dict[str, Counter] = {}
    for module_name, name, label in STAGES:
        module = importlib.import_module(module_name)
        setattr(module, name, _Counted(getattr(module, name), counts, spent.setdefault(label, Counter())))
    return spent


def _human_action(minute: int, opened: dict[int, str]) -> tuple[str, dict] | None:
    """Return the API call a person makes at this minute, if any (business hours: 02:00-11:00 UTC)."""
    actions = {125: (0, "ack", "dev-a"), 190: (0, "resolve", "dev-a"), 130: (1, "ack", "dev-b"),
               200: (2, "ack", "dev-c"), 300: (3, "ack", "dev-b"), 400: (1, "resolve", "dev-b"),
               500: (2, "resolve", "dev-c")}
    if minute not in actions:
        return None
    issue, verb, actor = actions[minute]
    if issue not in opened:
        return None
    return f"/incidents/{opened[issue]}/{verb}", {"actor": actor, "reason": "bench", "detail": "bench"}


def report(spent: dict[str, Counter], ttl_docs: dict[str, int], stages: dict[str, Counter]) -> None:
    print("\none day of the Petties team's traffic (167 Sentry alerts, 3 UptimeRobot monitors polled every minute "
          "with one 15-minute outage, /ingest/health checked every 5 minutes, 1,440 sweeps, the daily report, "
          "a few people), Firestore operations:")
    print(f"  {'what':<30} {'calls':>6} {'reads':>8} {'writes':>8} {'deletes':>8} {'reads/call':>11} "
          f"{'ms/call':>8}")
    total = Counter()
    for kind, c in spent.items():
        total.update(c)
        print(f"  {kind:<30} {c['calls']:>6} {c['reads']:>8} {c['writes']:>8} {c['deletes']:>8} "
              f"{c['reads'] / c['calls']:>11.1f} {c['ms'] / c['calls']:>8.0f}")
    print(f"  {'day total':<30} {total['calls']:>6} {total['reads']:>8} {total['writes']:>8} {total['deletes']:>8}")
    print(f"  {'free tier, per day':<30} {'':>6} {QUOTA['reads']:>8} {QUOTA['writes']:>8} {QUOTA['deletes']:>8}")
    print("  share of the free tier: " + ", ".join(f"{name} {total[name] / QUOTA[name]:.0%}" for name in QUOTA))
    sweeps = spent.get("sweeps (every minute)", Counter())
    print(f"  the sweeps by stage (reads per sweep; share of the day's free reads), {sweeps['calls']} sweeps:")
    for label, c in stages.items():
        per = c["reads"] / max(sweeps["calls"], 1)
        print(f"    {label:<34} reads {c['reads']:>7} ({per:5.2f}/sweep, {c['reads'] / QUOTA['reads']:5.1%})"
              f"   writes {c['writes']:>6}")
    ttl = sum(ttl_docs.values())
    print(f"  documents with a TTL written today (deleted by TTL policies later, billed as deletes): {ttl} "
          f"({', '.join(f'{k} {v}' for k, v in ttl_docs.items())})")
    print("  (ms/call: in process against the local emulator, sends included; production's Firestore is slower)")
    print("  " + json.dumps({"reads": total["reads"], "writes": total["writes"], "deletes": total["deletes"],
                             "ttl_deletes": ttl}))


if __name__ == "__main__":
    main()
