"""Regressions from a hostile probe, at the HTTP boundary: body limits, lying lengths, ids, tokens in logs.

Findings about the wire are driven over raw sockets against the real local server (the `live_server`
fixture, or one built here when a test needs its log or a short read timeout), since an HTTP client
library would refuse to send the lies; the others through the functions-framework test clients.
"""
from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import threading
import time
import tracemalloc
from urllib.parse import urlsplit

import pytest

from shared.web.http import MAX_BODY
from tests.conftest import dump_firestore, fixture_bytes, sentry_headers

HUGE = 200 * 1024 * 1024  # the probe's body: 200 MiB
PIECE = 256 * 1024


def _address(base_url: str) -> tuple[str, int]:
    parts = urlsplit(base_url)
    return parts.hostname, parts.port


def _head(method: str, target: str, headers: list[tuple[str, str]] | dict) -> bytes:
    items = headers.items() if isinstance(headers, dict) else headers
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in items)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _answer(sock: socket.socket, method: str = "POST") -> tuple[int, http.client.HTTPMessage, bytes]:
    """Read one HTTP answer from sock (what the server sent before closing stays readable after a reset)."""
    response = http.client.HTTPResponse(sock, method=method)
    response.begin()
    return response.status, response.headers, response.read()


def _stream_until_refused(sock: socket.socket, piece: bytes, total: int) -> tuple[int, BaseException | None]:
    """Send `piece` until `total` bytes went or the server closed the connection; return (bytes sent, error)."""
    sent = 0
    try:
        while sent < total:
            sock.sendall(piece)
            sent += len(piece)
    except ConnectionError as e:  # reset or broken pipe: the server stopped reading and closed
        return sent, e
    return sent, None


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def _signed_sentry() -> tuple[bytes, dict]:
    body = fixture_bytes("sentry_issue_created.json")
    return body, sentry_headers(body, "issue")


@contextlib.contextmanager
def _own_server(**options):
    """A local server like ./deploy.sh local's, with its own options (log on, a short read timeout)."""
    from shared.local.server import make_local_server

    server = make_local_server(**options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# 1. Body limits: 413 at once, the body not read, nothing buffered past MAX_BODY + 1 bytes.

@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_200_mib_body_is_answered_413_at_once_and_never_read(live_server, firestore, framing):
    body, headers = _signed_sentry()
    if framing == "chunked":
        headers["Transfer-Encoding"] = "chunked"
        piece = _chunk(b"x" * PIECE)
    else:
        headers["Content-Length"] = str(HUGE)
        piece = b"x" * PIECE
    started = time.monotonic()
    tracemalloc.start()
    try:
        with socket.create_connection(_address(live_server), timeout=20) as sock:
            sock.sendall(_head("POST", "/ingest/sentry", headers))
            sent, refused = _stream_until_refused(sock, piece, HUGE)
            status, answer_headers, answer = _answer(sock)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert status == 413
    assert "1048576-byte limit" in json.loads(answer)["error"]
    assert answer_headers["Content-Type"].startswith("application/json")
    assert answer_headers["Connection"] == "close"
    # The server closed the connection after a bounded drain instead of reading 200 MiB: the client was
    # cut off after what the sockets' buffers hold, and nothing near the body was held in memory.
    assert isinstance(refused, ConnectionError), f"the server read all {sent} bytes"
    assert sent < 40 * 1024 * 1024
    assert peak < 8 * MAX_BODY, f"{peak} bytes allocated while answering"
    assert time.monotonic() - started < 10
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("path,status", [("/ingest/", 413), ("/api/incidents", 413), ("/ingest/favicon.ico", 404)])
def test_a_huge_body_on_any_route_or_method_is_bounded(live_server, firestore, path, status):
    """GET with a body; /favicon.ico is answered by functions-framework itself, which then reads "the rest"
    of the body (bounded by web.start()'s hook)."""
    with socket.create_connection(_address(live_server), timeout=20) as sock:
        sock.sendall(_head("GET", path, {"Content-Length": str(HUGE)}))
        sent, refused = _stream_until_refused(sock, b"x" * PIECE, HUGE)
        got, _, answer = _answer(sock, "GET")
    assert isinstance(refused, ConnectionError) and sent < 40 * 1024 * 1024
    assert got == status
    if status == 413:
        assert "1048576-byte limit" in json.loads(answer)["error"]


def test_an_endless_chunked_body_on_a_route_that_reads_none_is_bounded(live_server, firestore):
    with socket.create_connection(_address(live_server), timeout=20) as sock:
        sock.sendall(_head("GET", "/ingest/", {"Transfer-Encoding": "chunked"}))
        sent, refused = _stream_until_refused(sock, _chunk(b"x" * PIECE), HUGE)
        status, _, answer = _answer(sock, "GET")
    assert isinstance(refused, ConnectionError) and sent < 40 * 1024 * 1024
    assert status == 200 and "sources" in json.loads(answer)


def test_a_small_body_on_get_is_ignored(live_server, firestore):
    with socket.create_connection(_address(live_server), timeout=10) as sock:
        sock.sendall(_head("GET", "/ingest/", {"Content-Length": "2"}) + b"{}")
        status, _, answer = _answer(sock, "GET")
    assert status == 200 and "sources" in json.loads(answer)


def test_a_chunked_signed_alert_within_the_limit_is_accepted(live_server, api):
    body, headers = _signed_sentry()
    headers["Transfer-Encoding"] = "chunked"
    with socket.create_connection(_address(live_server), timeout=10) as sock:
        sock.sendall(_head("POST", "/ingest/sentry", headers) + _chunk(body[:100]) + _chunk(body[100:]) + b"0\r\n\r\n")
        status, _, answer = _answer(sock)
    assert status == 200, answer
    incident = json.loads(answer)["incident"]
    assert api.get(f"/incidents/{incident}").get_json()["occurrences"] == 1


# 2. A lying Content-Length: 400 JSON, nothing stored (the body is read and checked before it is parsed).

def _send_and_half_close(base_url: str, head: bytes, body: bytes) -> tuple[int, dict]:
    """Send a request, then end the stream (EOF) as a client that sent all it had would."""
    with socket.create_connection(_address(base_url), timeout=20) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        status, headers, answer = _answer(sock)
    assert headers["Content-Type"].startswith("application/json"), answer
    return status, json.loads(answer)


def test_a_content_length_longer_than_the_body_is_400_and_stores_nothing(live_server, firestore):
    body, headers = _signed_sentry()
    head = _head("POST", "/ingest/sentry", {**headers, "Content-Length": str(len(body) + 100)})
    status, answer = _send_and_half_close(live_server, head, body)
    assert status == 400
    declared = len(body) + 100
    assert answer["error"] == f"the body ended after {len(body)} of its {declared} declared bytes (Content-Length)"
    assert dump_firestore(firestore) == {}


def test_a_body_that_stops_arriving_is_400_after_the_read_timeout_and_stores_nothing(firestore):
    body, headers = _signed_sentry()
    with _own_server(quiet=True, read_timeout=1.0) as base_url, \
            socket.create_connection(_address(base_url), timeout=20) as sock:
        started = time.monotonic()
        sock.sendall(_head("POST", "/ingest/sentry", {**headers, "Content-Length": str(len(body) + 100)}) + body)
        status, _, answer = _answer(sock)  # the client waits, connection open
        waited = time.monotonic() - started
    assert status == 400
    assert "declared bytes" in json.loads(answer)["error"]
    assert 0.9 <= waited < 10
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("lengths", ["both orders", "reversed", "the same twice"])
def test_two_content_length_headers_are_400_and_store_nothing(live_server, firestore, lengths):
    body, headers = _signed_sentry()
    values = {"both orders": [len(body), len(body) + 100], "reversed": [len(body) + 100, len(body)],
              "the same twice": [len(body), len(body)]}[lengths]
    head = _head("POST", "/ingest/sentry", [*headers.items(), *(("Content-Length", str(v)) for v in values)])
    status, answer = _send_and_half_close(live_server, head, body)
    assert status == 400
    assert "is not one byte count" in answer["error"]
    assert dump_firestore(firestore) == {}


@pytest.mark.parametrize("extra", [{"Content-Length": "1e3"}, {"Content-Length": "-1"}, {"Content-Length": "+12"},
                                   {"Transfer-Encoding": "chunked"}])
def test_a_content_length_that_cannot_be_trusted_is_400_and_stores_nothing(live_server, firestore, extra):
    body, headers = _signed_sentry()
    head = _head("POST", "/ingest/sentry", {"Content-Length": str(len(body)), **headers, **extra})
    status, answer = _send_and_half_close(live_server, head, _chunk(body) + b"0\r\n\r\n" if "Transfer-Encoding" in extra
                                          else body)
    assert status == 400
    assert "Content-Length" in answer["error"]
    assert dump_firestore(firestore) == {}


def test_a_chunked_body_cut_off_before_its_last_chunk_is_400_and_stores_nothing(live_server, firestore):
    body, headers = _signed_sentry()
    head = _head("POST", "/ingest/sentry", {**headers, "Transfer-Encoding": "chunked"})
    status, answer = _send_and_half_close(live_server, head, _chunk(body))  # no 0-length last chunk
    assert status == 400
    assert answer["error"].startswith("the chunked body is incomplete or malformed")
    assert dump_firestore(firestore) == {}


def test_a_lying_length_on_an_api_action_is_400_and_changes_nothing(live_server, firestore):
    note = b'{"actor": "dev-a", "text": "watch the pool"}'
    head = _head("POST", "/api/handoff/notes", {"Authorization": "Bearer test-api-token",
                                                "Content-Type": "application/json",
                                                "Content-Length": str(len(note) + 10)})
    status, answer = _send_and_half_close(live_server, head, note)
    assert status == 400 and "declared bytes" in answer["error"]
    assert dump_firestore(firestore) == {}


# 3. Override ids that are not ours are 404 before Firestore sees them.

@pytest.mark.parametrize("override_id", ["__name__", ".", "..", "__x__", "ABCDEF012345", "0123456789ab0", "x" * 2000])
def test_deleting_an_override_with_an_id_that_is_not_ours_is_404(api, override_id):
    r = api.delete(f"/oncall/overrides/{override_id}")
    assert r.status_code == 404
    assert r.get_json()["error"].startswith("no override")
    assert len(r.get_json()["error"]) < 80


def test_deleting_an_override_that_is_gone_is_still_404(api):
    assert api.delete("/oncall/overrides/0123456789ab").status_code == 404


# 4. No token in the access log, no whole field value in a log line or an error answer.

TOKEN = "test-ingest-token"


def test_the_local_access_log_never_shows_the_ingest_token(firestore, caplog, capfd):
    caplog.set_level(logging.INFO, logger="werkzeug")
    with _own_server(quiet=False) as base_url:
        address = _address(base_url)
        requests = [
            _head("POST", f"/ingest/uptimerobot?token={TOKEN}", {"Content-Type": "application/json",
                                                                 "Content-Length": "7"}) + b"{broken",
            _head("POST", f"/ingest/alertmanager?monitor=1&token={TOKEN}", {"Content-Length": "0"}),
            _head("POST", f"/ingest/nagios?token={TOKEN}", {"Content-Length": "2"}) + b"{}",
            _head("GET", f"/ingest/sentry?token={TOKEN}", {}),
            f"GET /ingest/?token={TOKEN} HTTP/1.1 extra words\r\n\r\n".encode(),  # a request line http.server refuses
            f"GET /ingest/? token={TOKEN} HTTP/1.1\r\n\r\n".encode(),
        ]
        answers = []
        for raw in requests:
            with socket.create_connection(address, timeout=10) as sock:
                sock.sendall(raw)
                sock.shutdown(socket.SHUT_WR)
                answers.append(b"".join(iter(lambda: sock.recv(65536), b"")))  # the server closes after it
    assert [a.split(b" ", 2)[1] for a in answers[:4]] == [b"400", b"400", b"404", b"405"]
    # Garbled request lines: http.server refuses them (as to HTTP/0.9, the body alone, when it cannot tell
    # the version), saying what is wrong without echoing the line.
    assert answers[4].endswith(b'{"error": "Bad request version"}')
    assert answers[5].startswith(b"HTTP/1.1 400 ") and answers[5].endswith(b'{"error": "Bad request syntax"}')
    assert not any(TOKEN.encode() in a for a in answers)
    out, err = capfd.readouterr()
    logged = "\n".join(r.getMessage() for r in caplog.records) + out + err
    assert "/ingest/uptimerobot?token=***" in logged  # the access log is on, and masks
    assert "/ingest/alertmanager?monitor=***&token=***" in logged
    assert TOKEN not in logged


def test_log_lines_and_answers_carry_bounded_values(ingest, api, capfd):
    long_id = "r" * 5000
    body = b'{"pad": "' + b"v" * 5000 + b'"}'
    r = ingest.post("/sentry", data=body, headers={"Request-ID": long_id, "Sentry-Hook-Resource": "issue"})
    assert r.status_code == 401
    r = api.delete("/oncall/overrides/" + "y" * 5000, headers={"Request-ID": long_id})
    assert r.status_code == 404 and "y" * 41 not in r.get_json()["error"]
    r = ingest.post("/sentry", data=b"{}", environ_overrides={"CONTENT_LENGTH": "9" * 5000})
    assert r.status_code == 413 and len(r.get_json()["error"]) < 100
    out, err = capfd.readouterr()
    assert "r" * 101 not in out + err and "v" * 301 not in out + err and "y" * 301 not in out + err
