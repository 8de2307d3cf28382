"""Cloud Function `escalate`: the every-minute sweep (Cloud Scheduler).

POST /escalate/   headers X-CloudScheduler-ScheduleTime (the run's "now" and its idempotency key)
Takes due escalation steps, posts the handoff at each handover, releases notifications held outside
business hours (one digest per channel), retries the outbox, polls UptimeRobot and probes health URLs.
"""
import functions_framework

from shared.web import http, jobs

http.start()


@functions_framework.http
def escalate(request):
    return jobs.escalate(request)
