"""Logs Cloud Logging understands: a request's lines tied to its trace (X-Cloud-Trace-Context or W3C traceparent,
as Cloud Run sends them), and an unexpected exception as one entry in the shape Error Reporting groups, without
secrets or payloads. Through the real entry points, against the emulator; the lines as the process writes them."""
from __future__ import annotations

import json
import os

import pytest

from shared import log
from shared.incidents import webhook
from shared.notify import delivery, kinds
from shared.store import incidents as store
from tests.conftest import fixture_bytes, sentry_headers

TRACE_ID = "105445aa7843bc8bf206b12000100000"
CLOUD_TRACE = f"{TRACE_ID}/7;o=1"          # span 7, decimal as Cloud Run writes it
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def lines(capfd) -> list[dict]:
    """Return what the process wrote to standard output since the last call, one JSON object per line."""
    delivery.wait_idle()   # background sends write their lines after the answer
    return [json.loads(x) for x in capfd.readouterr().out.splitlines() if x.startswith("{")]


def trace_name(trace_id: str) -> str:
    return f"projects/{os.environ['GOOGLE_CLOUD_PROJECT']}/traces/{trace_id}"


def new_alert(ingest, **headers):
    body = fixture_bytes("sentry_issue_created.json")
    return ingest.post("/sentry", data=body, headers={**sentry_headers(body, "issue"), **headers})


def test_every_line_a_request_writes_carries_its_trace_background_sends_included(ingest, capfd):
    capfd.readouterr()
    # When Cloud Run hands ingest an alert with its trace header
    assert new_alert(ingest, **{"X-Cloud-Trace-Context": CLOUD_TRACE}).status_code == 200
    # Then every line written for it, the sends that finish after the answer too, names the trace and the span
    written = lines(capfd)
    assert any(line["message"] == "alert ingested" for line in written)
    assert any("not configured" in line["message"] for line in written)   # written by the background delivery
    assert {(line.get(log.TRACE), line.get(log.SPAN), line.get(log.SAMPLED)) for line in written} == {
        (trace_name(TRACE_ID), "0000000000000007", True)}
    # and a later request without one is not tied to it
    assert ingest.post("/sentry", data=b"{}").status_code == 401
    later = lines(capfd)
    assert later and not any(log.TRACE in line for line in later)


def test_a_w3c_traceparent_alone_ties_the_lines_too(ingest, capfd):
    capfd.readouterr()
    assert new_alert(ingest, traceparent=TRACEPARENT).status_code == 200
    written = lines(capfd)
    assert written and {(line.get(log.TRACE), line.get(log.SPAN)) for line in written} == {
        (trace_name("0af7651916cd43dd8448eb211c80319c"), "b7ad6b7169203331")}


@pytest.mark.parametrize("header,value", [
    ("X-Cloud-Trace-Context", "not-a-trace-at-all"),
    ("X-Cloud-Trace-Context", f"{TRACE_ID[:-1]}g/1;o=1"),                   # not hex
    ("X-Cloud-Trace-Context", f"{TRACE_ID}aa/1;o=1"),                       # too long
    ("X-Cloud-Trace-Context", f"{'0' * 32}/1;o=1"),                         # the invalid all-zero trace
    ("X-Cloud-Trace-Context", f"{TRACE_ID}/99999999999999999999;o=1"),      # a span past 64 bits
    ("X-Cloud-Trace-Context", f"{TRACE_ID}/1;o=1\" injected"),
    ("traceparent", "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),   # version ff is invalid
    ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01"),   # all-zero span
    ("traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b71692033-01"),     # short span
])
def test_a_malformed_trace_header_is_ignored_and_never_logged(ingest, capfd, header, value):
    capfd.readouterr()
    # When a request that is refused (and so logged with its request id) comes with a malformed trace header
    r = ingest.post("/sentry", data=b"{}", headers={header: value})
    assert r.status_code == 401
    # Then its lines carry no trace, and the header's value shows nowhere
    written = lines(capfd)
    assert [line["message"] for line in written] == ["refused"]
    assert not any(key.startswith("logging.googleapis.com/") for key in written[0])
    assert value not in json.dumps(written) and value.split("/")[0] not in json.dumps(written)


def test_an_unexpected_exception_is_one_error_reporting_entry_without_secrets_or_payload(ingest, capfd, monkeypatch):
    # Given a use case that breaks on a delivery, with the token and the payload in its exception's message
    token = "test-ingest-token"
    webhook_url = "https://discord.com/api/webhooks/1/" + "webhook-secret-part"   # the source line shows the name
    padding = "p" * 400
    body = json.dumps({"monitorID": "1", "alertType": "1", "note": padding + "payload-marker"}).encode()

    def broken(source, inbound, now):
        try:
            int(inbound.body.decode())
        except ValueError as e:
            raise RuntimeError(f"cannot route with {token} via {webhook_url}: {inbound.body.decode()}") from e

    monkeypatch.setattr(webhook, "handle", broken)
    monkeypatch.setenv("K_SERVICE", "ingest")
    monkeypatch.setenv("K_REVISION", "ingest-00042-abc")
    capfd.readouterr()
    # When it receives one (UptimeRobot's token travels in the query)
    r = ingest.post(f"/uptimerobot?token={token}", data=body, headers={
        "Content-Type": "application/json", "X-Cloud-Trace-Context": CLOUD_TRACE, "Request-ID": "req-42"})
    # Then the answer is a 500 naming the request id only
    assert r.status_code == 500 and r.get_json() == {"error": "internal error", "request_id": "req-42"}
    # and exactly one entry says so, in the shape Error Reporting groups
    written = lines(capfd)
    [entry] = [line for line in written if line.get("@type") == log.ERROR_EVENT]
    assert len([line for line in written if line["severity"] == "ERROR"]) == 1
    assert entry["severity"] == "ERROR"
    assert entry["serviceContext"] == {"service": "ingest", "version": "ingest-00042-abc"}
    assert entry["context"] == {"httpRequest": {"method": "POST", "url": "/uptimerobot", "responseStatusCode": 500}}
    assert entry["request_id"] == "req-42" and entry[log.TRACE] == trace_name(TRACE_ID)
    # with the traceback as Python prints it (the cause first), which Error Reporting parses
    message = entry["message"]
    assert message.startswith("Traceback (most recent call last):\n  File ")
    assert "ValueError: invalid literal for int()" in message
    assert "The above exception was the direct cause of the following exception:" in message
    assert ', in broken\n' in message and message.rstrip().splitlines()[-1].startswith("RuntimeError: cannot route ")
    # and no token, no webhook secret and no more than a short prefix of the payload anywhere in what was written
    everything = json.dumps(written)
    assert token not in everything and "webhook-secret-part" not in everything
    assert "payload-marker" not in everything and padding not in everything


def test_without_the_platform_names_the_entry_names_the_function_and_local(ingest, capfd, monkeypatch):
    monkeypatch.delenv("K_SERVICE", raising=False)
    monkeypatch.delenv("K_REVISION", raising=False)
    monkeypatch.setattr(webhook, "handle", lambda source, inbound, now: 1 / 0)
    capfd.readouterr()
    assert ingest.post("/sentry", data=b"{}").status_code == 500
    [entry] = [line for line in lines(capfd) if line.get("@type") == log.ERROR_EVENT]
    assert entry["serviceContext"] == {"service": "ingest", "version": "local"}
    assert "context" in entry and log.TRACE not in entry
    assert entry["message"].rstrip().endswith("ZeroDivisionError: division by zero")


def test_a_message_that_cannot_be_built_is_reported_once_per_send_tied_to_the_request(ingest, capfd, monkeypatch):
    # Given a bug in building an incident's first message
    def broken(job):
        raise KeyError("template field")

    monkeypatch.setitem(kinds.KINDS, kinds.OPENED, broken)
    capfd.readouterr()
    # When an alert opens an incident (its messages are built after the answer, in the background)
    answer = new_alert(ingest, **{"X-Cloud-Trace-Context": CLOUD_TRACE}).get_json()
    written = lines(capfd)
    # Then each failed message is one Error Reporting entry, tied to the request that queued it
    entries = [line for line in written if line.get("@type") == log.ERROR_EVENT]
    failed = [e for e in store.get_incident(answer["incident"]).timeline if e["action"] == "notification failed"]
    assert entries and len(entries) == len(failed)
    assert all(e["event"] == "notification cannot be built" and e[log.TRACE] == trace_name(TRACE_ID)
               and e["incident"] == answer["incident"] and "KeyError: 'template field'" in e["message"]
               and e["serviceContext"]["service"] == "ingest" for e in entries)


def test_a_background_delivery_that_breaks_is_reported_once_tied_to_the_request(ingest, capfd, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the delivery engine broke")

    monkeypatch.setattr(delivery, "deliver", broken)
    capfd.readouterr()
    # When an alert's notifications are sent after the answer and the sending breaks
    assert new_alert(ingest, **{"X-Cloud-Trace-Context": CLOUD_TRACE}).status_code == 200
    # Then the answer was not affected, and one Error Reporting entry says so under the request's trace
    [entry] = [line for line in lines(capfd) if line.get("@type") == log.ERROR_EVENT]
    assert entry["event"] == "background delivery failed" and entry[log.TRACE] == trace_name(TRACE_ID)
    assert entry["message"].rstrip().endswith("RuntimeError: the delivery engine broke")
    assert entry["context"]["httpRequest"] == {"method": "POST", "url": "/sentry"}   # no status: it was answered
