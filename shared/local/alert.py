"""Send a realistic sample alert to a running stack, the way each vendor sends it.

    ./deploy.sh alert sentry --severity critical          (python -m shared.local.alert ...)
    ./deploy.sh alert uptimerobot down --service ai-service ; ./deploy.sh alert uptimerobot up --service ai-service
    ./deploy.sh alert pagerduty trigger --env staging --repeat 3 ; ./deploy.sh alert sentry --replay

One sample problem per source, severity, service and environment: sending it again is one more occurrence,
and up / resolved / ack / resolve act on the problem that down / firing / trigger opened with the same options.
The payloads are modelled on the vendors' own (tests/fixtures/); each --severity sends the level and wording
that the Petties team file (severity.levels and severity.rules) classifies as that severity, as
tests/test_alert_command.py checks against a real server. Credentials default to what ./deploy.sh local sets.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timezone

import httpx

from shared.config import Config, ConfigError, load_config
from shared.local.samples import (
    ACTIONS,
    BUILDERS,
    LOCAL_DEFAULTS,
    OPENING,
    OPTIONS,
    SCENARIOS,
    Delivery,
    UsageError,
    setting,
)
from shared.model import Severity


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (options: {OPTIONS})")


def parse_args(argv: list[str], cfg: Config) -> argparse.Namespace:
    """Read SOURCE [ACTION] [options]; UsageError names the choices."""
    parser = _Parser(prog="./deploy.sh alert", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("source", nargs="?", help=", ".join(ACTIONS))
    parser.add_argument("action", nargs="?", help="; ".join(f"{k}: {'|'.join(v)}" for k, v in ACTIONS.items()
                                                              if len(v) > 1) + " (default: the first)")
    parser.add_argument("--severity", default="critical", help="critical|high|medium|low (default critical)")
    parser.add_argument("--service", default=cfg.services[0].name if len(cfg.services) == 1 else None,
                        help=f"a service of the team file: {', '.join(s.name for s in cfg.services)}")
    parser.add_argument("--env", default=cfg.default_environment, help=f"{', '.join(cfg.environments)}")
    parser.add_argument("--repeat", type=int, default=1, help="N occurrences of the problem (new delivery ids)")
    parser.add_argument("--replay", action="store_true", help="deliver the last one again, byte for byte")
    parser.add_argument("--url", help="base URL of the stack (default http://127.0.0.1:$PORT, PORT 8080)")
    parser.add_argument("--token", help="INGEST_TOKEN (the routing key for pagerduty)")
    parser.add_argument("--secret", help="SENTRY_CLIENT_SECRET for sentry, GRAFANA_WEBHOOK_SECRET for grafana")
    parser.add_argument("--api-token", help="API_TOKEN, to read the incident back")
    o = parser.parse_args(argv)
    if o.source not in ACTIONS:
        what = f"unknown source {o.source!r}" if o.source else "which source?"
        raise UsageError(f"{what} (choose: {', '.join(ACTIONS)})")
    o.action = o.action or ACTIONS[o.source][0]
    if o.action not in ACTIONS[o.source] + (["acknowledge"] if o.source == "pagerduty" else []):
        raise UsageError(f"unknown {o.source} action {o.action!r} (choose: {'|'.join(ACTIONS[o.source])})")
    o.action = "ack" if o.action == "acknowledge" else o.action
    if o.severity not in SCENARIOS:
        raise UsageError(f"unknown severity {o.severity!r} (choose: {', '.join(SCENARIOS)})")
    names = [s.name for s in cfg.services]
    o.service = o.service or ("petties-backend" if "petties-backend" in names else names[0])
    if o.service not in names:
        raise UsageError(f"unknown service {o.service!r} (choose: {', '.join(names)})")
    if o.env not in cfg.environments:
        raise UsageError(f"unknown environment {o.env!r} (choose: {', '.join(cfg.environments)})")
    if o.repeat < 1:
        raise UsageError("--repeat needs a number of occurrences, 1 or more")
    o.url = (o.url or f"http://127.0.0.1:{os.environ.get('PORT') or 8080}").rstrip("/")
    o.api_token = o.api_token or setting("API_TOKEN")
    return o


def expected(o, cfg: Config) -> str:
    """Return the severity the team file should give the sample (staging may cap it)."""
    cap = cfg.environments[o.env].max_severity
    if cap and Severity.parse(o.severity) > Severity.parse(cap):
        return f"{cap} (asked {o.severity}; {o.env} caps it at {cap})"
    return o.severity


def post(client: httpx.Client, delivery: Delivery) -> httpx.Response:
    """Send one delivery (tests wrap this to look at Firestore between sends)."""
    return client.post(delivery.path, content=delivery.body, headers=delivery.headers, params=delivery.params)


def _answer(r: httpx.Response) -> str:
    try:
        return json.dumps(r.json())
    except ValueError:
        return r.text[:300]


def _find(client: httpx.Client, o, answer: dict, auth: dict) -> dict | None:
    """Return the incident the answer names (PagerDuty's answer names only its dedup key)."""
    if answer.get("incident"):
        r = client.get(f"/api/incidents/{answer['incident']}", headers=auth)
        return r.json() if r.status_code == 200 else None
    if answer.get("dedup_key"):  # newest first: the incident this PagerDuty dedup key is on now
        r = client.get("/api/incidents", params={"limit": 100}, headers=auth)
        wanted = f"pagerduty:{o.service}:{answer['dedup_key']}"
        if r.status_code == 200:
            return next((i for i in r.json()["incidents"] if i["dedup_key"] == wanted), None)
    return None


def run(o, cfg: Config, out=None) -> int:
    """Send the sample(s), print each answer and where to look; 0 when every answer was 2xx."""
    out = out or sys.stdout
    build = BUILDERS[o.source]
    sends = [build(o, cfg, datetime.now(timezone.utc)) for _ in range(o.repeat)]
    if o.replay:
        sends.append(sends[-1])
    ok, last = True, {}
    print(f"{o.source} {o.action}: {o.service}, {o.env}"
          + (f", expected severity {expected(o, cfg)}" if o.action in OPENING else ""), file=out)
    with httpx.Client(base_url=o.url, timeout=30) as client:
        for number, delivery in enumerate(sends, 1):
            again = o.replay and number == len(sends)
            rid = delivery.headers.get("Request-ID")
            print(f"{'replay of the last delivery' if again else delivery.describe}"
                  f"{f', Request-ID {rid}' if rid else ''}: POST {o.url}{delivery.path}", file=out)
            try:
                r = post(client, delivery)
            except httpx.HTTPError as e:
                print(f"cannot reach {o.url} ({e.__class__.__name__}): is ./deploy.sh local running "
                      "(PORT=...), or is --url right?", file=out)
                return 1
            print(f"  -> {r.status_code} {_answer(r)}", file=out)
            ok = ok and r.is_success
            last = r.json() if r.is_success else last
            if o.repeat > 1 and not again:
                time.sleep(0.05)  # occurrences a moment apart, as a source sends them
        if again and not rid:
            print(f"  ({o.source} deliveries carry no delivery id: the same body again counts as what it says, "
                  "one more occurrence of an open problem)", file=out)
        auth = {"Authorization": f"Bearer {o.api_token}"}
        incident = _find(client, o, last, auth) if last else None
    _where(o, incident, last, out)
    return 0 if ok else 1


def _where(o, incident: dict | None, answer: dict, out) -> None:
    local = o.url.startswith(("http://127.0.0.1", "http://localhost"))
    token = o.api_token if o.api_token == LOCAL_DEFAULTS["API_TOKEN"] else "$API_TOKEN"  # never print a real one
    ident = (incident or {}).get("id") or answer.get("incident")
    if incident:
        print(f"{incident['id']}: {incident['severity']}, {incident['service']}, {incident['environment']}, "
              f"{incident['status']}, occurrences {incident['occurrences']}", file=out)
        print(f"  severity: {incident['severity_reason']}", file=out)
    if ident:
        print(f"Incident:       {o.url}/api/incidents/{ident}", file=out)
        print(f"  curl -s -H 'Authorization: Bearer {token}' {o.url}/api/incidents/{ident}", file=out)
    print(f"Notifications:  {o.url}/_local/notifications" if local
          else "Notifications:  in the channels the team file routes this severity to", file=out)


def main(argv: list[str] | None = None) -> int:
    try:
        cfg = load_config()
        o = parse_args(sys.argv[1:] if argv is None else argv, cfg)
        return run(o, cfg)
    except (UsageError, ConfigError) as e:
        print(f"alert: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
