"""Cloud Function `daily_summary`: the previous local day's report, posted to the alerts channel (Cloud Scheduler).

POST /daily_summary/                  the day before X-CloudScheduler-ScheduleTime (local), and days missed
POST /daily_summary/?date=YYYY-MM-DD  that day again: answered from the stored report, posted only once
"""
from datetime import date

import functions_framework

from shared.config import config
from shared.config.settings import settings
from shared.errors import BadInput
from shared.notify import delivery
from shared.reports import daily as summary
from shared.status import page as status_page
from shared.web import http as web

web.start()
DELIVERY_WAIT = 5.0  # seconds the answer waits for the post (the sweep retries it otherwise)


@functions_framework.http
def daily_summary(request):
    def handle():
        web.allow(request.method, "POST")
        now = web.schedule_time(request.headers.get("X-CloudScheduler-ScheduleTime"))
        asked = request.args.get("date")
        try:
            day = date.fromisoformat(asked) if asked else None
        except ValueError:
            raise BadInput(f"date: expected YYYY-MM-DD, got {asked[:40]!r}") from None
        if day is not None and not date(2000, 1, 1) <= day <= now.date():
            raise BadInput(f"date: expected a day from 2000-01-01 to today, got {day.isoformat()}")
        done = summary.run(now, config(), settings(), day)
        status_page.record_days(now, config())  # the status page's bars of the days now closed
        delivery.deliver_soon(done.pop("notify"), config(), settings(), now, DELIVERY_WAIT)
        return web.json_response(done)

    return web.guarded(handle, request)
