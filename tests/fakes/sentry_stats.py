"""A fake of Sentry's organization stats endpoint (stats_v2): bearer auth, its required parameters, one group per
category with totals and series, 429 with Retry-After. Counts come from events the test adds with a time.

https://docs.sentry.io/api/organizations/retrieve-event-counts-for-an-organization-v2/
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.server import FakeService, Fault, json_response


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class FakeSentryStats(FakeService):
    """GET /api/0/organizations/<org>/stats_v2/ for one organization."""

    def __init__(self, *, token: str = "sntrys_test", organization: str = "petties", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.token, self.organization = token, organization
        self.events: list[tuple[datetime, str, str, int]] = []   # (at, category, outcome, quantity)

    def add(self, at: datetime, category: str, quantity: int, outcome: str = "accepted") -> None:
        self.events.append((at, category, outcome, quantity))

    def fault_response(self, fault: Fault) -> Response:
        if fault.status == 429:
            return json_response({"detail": "You are attempting to use this endpoint too frequently."}, 429,
                                 {"Retry-After": str(fault.retry_after), **fault.headers})
        return json_response(fault.body or {"detail": "Internal Error"}, fault.status, fault.headers)

    def handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return json_response({"detail": "Invalid token"}, 401)
        prefix = f"/api/0/organizations/{self.organization}/stats_v2/"
        if not request.path.startswith("/api/0/organizations/"):
            return json_response({"detail": "Not found"}, 404)
        if request.path != prefix:
            return json_response({"detail": "The requested resource does not exist"}, 404)
        args = request.args
        if not args.get("field") or not args.getlist("groupBy"):
            return json_response({"detail": "At least one field and one groupBy are required"}, 400)
        start, end = _time(args["start"]), _time(args["end"])
        categories = args.getlist("category") or ["error", "transaction"]
        outcome = args.get("outcome")
        totals: dict[str, int] = {}
        for at, category, got, quantity in self.events:
            if start <= at < end and category in categories and (outcome is None or got == outcome):
                totals[category] = totals.get(category, 0) + quantity
        by = args.getlist("groupBy")
        groups = [{"by": {"category": c} if "category" in by else {}, "totals": {"sum(quantity)": n},
                   "series": {"sum(quantity)": [n]}} for c, n in sorted(totals.items())]
        return json_response({"start": args["start"], "end": args["end"], "intervals": [args["start"]],
                              "groups": groups})
