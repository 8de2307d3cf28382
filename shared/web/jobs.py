"""The scheduled functions' transport (Cloud Scheduler): the minute sweep and the daily summary.
X-CloudScheduler-ScheduleTime is each run's "now" and its idempotency key (Cloud Scheduler delivers at least once).
"""
from __future__ import annotations

from datetime import date

from shared import sweep
from shared.config import config
from shared.config.settings import settings
from shared.errors import BadInput
from shared.notify import delivery
from shared.reports import daily
from shared.status import page as status_page
from shared.web import http

REPORT_WAIT = 5.0  # seconds the daily summary's answer waits for its post (the sweep retries it otherwise)


def escalate(request) -> tuple:
    """POST /escalate/: the every-minute sweep, once per schedule time."""
    def handle():
        http.allow(request.method, "POST")
        now = http.schedule_time(request.headers.get("X-CloudScheduler-ScheduleTime"))
        return http.json_response(sweep.run_escalate(now, request.headers.get("X-CloudScheduler-JobName", "escalate")))

    return http.guarded(handle, request)


def daily_summary(request) -> tuple:
    """POST /daily_summary/ (?date=YYYY-MM-DD, ?recompute=1): the previous local day's report (or that day's),
    posted once; recompute=1 makes a stored one again and posts a correction saying what changed, if anything did."""
    def handle():
        http.allow(request.method, "POST")
        now = http.schedule_time(request.headers.get("X-CloudScheduler-ScheduleTime"))
        asked = request.args.get("date")
        try:
            day = date.fromisoformat(asked) if asked else None
        except ValueError:
            raise BadInput(f"date: expected YYYY-MM-DD, got {asked[:40]!r}") from None
        over = daily.previous_day(http.now(), config())  # the last local day that is over, by this clock
        if day is not None:
            daily.check_day(day, over, config())
        recompute = request.args.get("recompute", "").lower()
        if recompute not in ("", "0", "1", "false", "true"):
            raise BadInput(f"recompute: expected 1 (or 0), got {recompute[:40]!r}")
        again = recompute in ("1", "true")
        done = daily.run(now, config(), settings(), day, over, recompute=again)
        # the status page's bars of the days now closed, and of the day made again: one figure on page and report
        status_page.record_days(now, config(), again=(done["date"],) if again else ())
        delivery.deliver_soon(done.pop("notify"), config(), settings(), now, REPORT_WAIT)
        return http.json_response(done)

    return http.guarded(handle, request)
