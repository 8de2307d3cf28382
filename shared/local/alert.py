"""Send a realistic sample alert to a running stack, the way each vendor sends it.

    ./deploy.sh alert sentry --severity critical          (python -m shared.local.alert ...)
    ./deploy.sh alert uptimerobot down --service ai-service ; ./deploy.sh alert uptimerobot up --service ai-service
    ./deploy.sh alert pagerduty trigger --env staging --repeat 3 ; ./deploy.sh alert sentry --replay

One sample problem per source, severity, service and environment: sending it again is one more occurrence,
and up / resolved / ack / resolve act on the problem that down / firing / trigger opened with the same options.
The payloads are modelled on the vendors' own (tests/fixtures/); the service is one of the team file in use
(INCIDENT_CONFIG), and --severity sends a level and wording that this team file's own rules classify as that
severity (shared/local/wording.py asks the real parser and classifier first). When the team file cannot give what
was asked, the command says why and exits 1; so does an answer that is not what was expected (is the server
running the same team file?). --replay sends the source's last delivery again, byte for byte, and nothing else.
Credentials default to what ./deploy.sh local sets.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

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
    Unfit,
    UsageError,
    routing_keys,
    setting,
)
from shared.local.wording import Choice, choose

# The last delivery of each source, for --replay (.local/ is ./deploy.sh's state folder, not in git)
LAST = Path(__file__).resolve().parents[2] / ".local" / "last-alerts.json"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (options: {OPTIONS})")


def parse_args(argv: list[str], cfg: Config) -> argparse.Namespace:
    """Read SOURCE [ACTION] [options]; UsageError names the choices."""
    parser = _Parser(prog="./deploy.sh alert", description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("source", nargs="?", help=", ".join(ACTIONS))
    parser.add_argument("action", nargs="?", help="; ".join(f"{k}: {'|'.join(v)}" for k, v in ACTIONS.items()
                                                              if len(v) > 1) + " (default: the first)")
    parser.add_argument("--severity", help="critical|high|medium|low (default critical; uptimerobot down: what the "
                                           "team file makes of a down)")
    parser.add_argument("--service", help=f"a service of the team file: {', '.join(s.name for s in cfg.services)} "
                                          "(default the first; pagerduty: the first with a routing key)")
    parser.add_argument("--env", default=cfg.default_environment, help=f"{', '.join(cfg.environments)}")
    parser.add_argument("--repeat", type=int, default=1, help="N occurrences of the problem (new delivery ids)")
    parser.add_argument("--replay", action="store_true", help="deliver this source's last one again, byte for byte "
                                                                "(nothing else is sent)")
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
    if o.severity is not None and o.severity not in SCENARIOS:
        raise UsageError(f"unknown severity {o.severity!r} (choose: {', '.join(SCENARIOS)})")
    o.severity = o.severity or (None if o.source == "uptimerobot" else "critical")
    names = [s.name for s in cfg.services]
    if not names:
        raise Unfit("the team file names no services (services:), and every alert is about one")
    keyed = set(routing_keys(cfg).values()) if o.source == "pagerduty" else set(names)
    o.service = o.service or next((n for n in names if n in keyed), names[0])
    if o.service not in names:
        raise UsageError(f"unknown service {o.service!r} (choose: {', '.join(names)})")
    if o.env not in cfg.environments:
        raise UsageError(f"unknown environment {o.env!r} (choose: {', '.join(cfg.environments)})")
    if o.repeat < 1:
        raise UsageError("--repeat needs a number of occurrences, 1 or more")
    if o.replay and o.repeat != 1:
        raise UsageError("--replay sends the last delivery once; leave out --repeat")
    o.url = (o.url or f"http://127.0.0.1:{os.environ.get('PORT') or 8080}").rstrip("/")
    o.api_token = o.api_token or setting("API_TOKEN")
    return o


def expected(choice: Choice, o) -> str:
    """Return the severity the sample should get, and why when the environment caps what was asked."""
    said = choice.verdict.severity.label
    return f"{said} (asked {o.severity}; {o.env} caps it at {choice.cap})" if choice.cap else said


def remember(source: str, delivery: Delivery, path: Path | None = None) -> None:
    """Keep the source's last delivery for --replay."""
    path = path or LAST
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = {}
    kept[source] = {"path": delivery.path, "body": base64.b64encode(delivery.body).decode(),
                    "headers": delivery.headers, "params": delivery.params, "describe": delivery.describe}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kept, indent=1), encoding="utf-8")


def recall(source: str, path: Path | None = None) -> Delivery:
    """Return the source's last delivery; Unfit when none was sent from here."""
    try:
        kept = json.loads((path or LAST).read_text(encoding="utf-8"))[source]
        return Delivery(kept["path"], base64.b64decode(kept["body"]), kept["headers"], kept["params"],
                        kept["describe"])
    except (OSError, ValueError, KeyError, TypeError):
        raise Unfit(f"no {source} delivery to replay: send one first (./deploy.sh alert {source})") from None


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
    """Send the sample(s) (or replay the last one), print each answer and where to look; 0 when every answer was 2xx
    and the incident is what was expected."""
    out = out or sys.stdout
    choice = None
    if o.replay:
        sends = [recall(o.source)]
        print(f"{o.source}: replay of the last delivery", file=out)
    else:
        choice = choose(o, cfg, datetime.now(timezone.utc))
        sends = [BUILDERS[o.source](o, cfg, datetime.now(timezone.utc), choice.scenario) for _ in range(o.repeat)]
        print(f"{o.source} {o.action}: {o.service}, {o.env}"
              + (f", expected severity {expected(choice, o)}" if o.action in OPENING else ""), file=out)
    ok, last = True, {}
    with httpx.Client(base_url=o.url, timeout=30) as client:
        for number, delivery in enumerate(sends, 1):
            rid = delivery.headers.get("Request-ID")
            print(f"{'replay of ' + delivery.describe if o.replay else delivery.describe}"
                  f"{f', Request-ID {rid}' if rid else ''}: POST {o.url}{delivery.path}", file=out)
            try:
                r = post(client, delivery)
            except httpx.HTTPError as e:
                print(f"cannot reach {o.url} ({e.__class__.__name__}): is ./deploy.sh local running "
                      "(PORT=...), or is --url right?", file=out)
                return 1
            if not o.replay:
                remember(o.source, delivery)
            print(f"  -> {r.status_code} {_answer(r)}", file=out)
            ok = ok and r.is_success
            last = r.json() if r.is_success else last
            if number < len(sends):
                time.sleep(0.05)  # occurrences a moment apart, as a source sends them
        if o.replay and not delivery.headers.get("Request-ID"):
            print(f"  ({o.source} deliveries carry no delivery id: the same body again counts as what it says, "
                  "one more occurrence of an open problem)", file=out)
        auth = {"Authorization": f"Bearer {o.api_token}"}
        incident = _find(client, o, last, auth) if last else None
    _where(o, incident, last, out)
    if ok and choice and incident and o.action in OPENING and incident["severity"] != choice.verdict.severity.label:
        print(f"not as expected: the server made it {incident['severity']} ({incident['severity_reason']}), not "
              f"{choice.verdict.severity.label}: does it run the same team file (INCIDENT_CONFIG) as this command?",
              file=out)
        return 1
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
    except Unfit as e:
        print(f"alert: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
