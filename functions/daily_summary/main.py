"""Cloud Function `daily_summary`: the previous local day's report, posted to the alerts channel (Cloud Scheduler).

POST /daily_summary/                  the day before X-CloudScheduler-ScheduleTime (local), and days missed
POST /daily_summary/?date=YYYY-MM-DD  that day again: answered from the stored report, posted only once
"""
import functions_framework

from shared.web import http, jobs

http.start()


@functions_framework.http
def daily_summary(request):
    return jobs.daily_summary(request)
