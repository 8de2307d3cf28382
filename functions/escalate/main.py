"""Cloud Function `escalate`: the every-minute sweep (Cloud Scheduler).

POST /escalate/   headers X-CloudScheduler-ScheduleTime (the run's "now" and its idempotency key)
Takes due escalation steps, posts the handoff at each handover, releases notifications held outside
business hours (one digest per channel) and retries the outbox.
"""
import functions_framework

from shared.sweep import run_escalate
from shared.web import http as web

web.start()


@functions_framework.http
def escalate(request):
    def handle():
        web.allow(request.method, "POST")
        now = web.schedule_time(request.headers.get("X-CloudScheduler-ScheduleTime"))
        return web.json_response(run_escalate(now, request.headers.get("X-CloudScheduler-JobName", "escalate")))

    return web.guarded(handle, request)
