"""A real SMTP submission server (aiosmtpd) on a free port: STARTTLS, AUTH LOGIN/PLAIN, scripted 4xx answers."""
from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import tempfile
import threading
import warnings
from collections import deque
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.fakes.clock import REAL_CLOCK, Clock

HOST = "127.0.0.1"
_cert_lock = threading.Lock()
_cert_files: tuple[str, str] | None = None


def _write_cert(directory: Path) -> None:
    """Write a self-signed localhost cert.pem/key.pem (cryptography if installed, else the openssl CLI)."""
    try:
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                        "-days", "1", "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
                       check=True, capture_output=True)
        return
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    (directory / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                          serialization.PrivateFormat.PKCS8,
                                                          serialization.NoEncryption()))


def server_tls_context() -> ssl.SSLContext:
    """Return a server TLS context with a self-signed cert made once per process."""
    global _cert_files
    with _cert_lock:
        if _cert_files is None:
            directory = Path(tempfile.mkdtemp(prefix="fake-smtp-tls-"))
            _write_cert(directory)
            _cert_files = (str(directory / "cert.pem"), str(directory / "key.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_cert_files)
    return context


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class ReceivedMail:
    """One accepted message: the envelope, the raw bytes, the parsed message and how the session was secured."""

    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    tls: bool
    auth_user: str | None
    received_at: float = field(default_factory=REAL_CLOCK.time)


class _Controller(Controller):
    def factory(self) -> SMTP:
        with warnings.catch_warnings():  # "AUTH without TLS" is a deliberate, opt-in test set-up
            warnings.simplefilter("ignore")
            return super().factory()


class SmtpServer:
    """SMTP on 127.0.0.1:<free port> recording every accepted message in .messages (stamped by `clock`)."""

    def __init__(self, *, user: str | None = "mailer", password: str = "secret",
                 auth_require_tls: bool = True, clock: Clock | None = None) -> None:
        self.user, self.password, self.auth_require_tls = user, password, auth_require_tls
        self.clock = clock or REAL_CLOCK
        self.host, self.port = HOST, 0
        self.messages: list[ReceivedMail] = []
        self.rejected: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._failures: deque[tuple[str, int, str]] = deque()
        self._slow_data: deque[float] = deque()
        self._controller: Controller | None = None

    @classmethod
    def start(cls, **kwargs: Any) -> Self:
        """Create the server with kwargs and start it; return the running instance."""
        return cls(**kwargs).serve()

    def serve(self) -> Self:
        """Start listening (idempotent); return self."""
        if self._controller is None:
            self.port = _free_port()
            auth = {"authenticator": self._authenticate, "auth_required": True} if self.user else {}
            self._controller = _Controller(self, hostname=self.host, port=self.port, server_hostname="localhost",
                                           tls_context=server_tls_context(), auth_require_tls=self.auth_require_tls,
                                           **auth)
            self._controller.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> Self:
        return self.serve()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def url(self, user: str | None = None, password: str | None = None) -> str:
        """Return smtp://user:pass@127.0.0.1:port (the configured credentials by default)."""
        user, password = user or self.user, password or self.password
        auth = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
        return f"smtp://{auth}{self.host}:{self.port}"

    def fail_next(self, n: int = 1, code: int = 451, message: str = "4.3.0 try again later",
                  command: str = "DATA") -> None:
        """Answer the next n DATA (or RCPT) commands with `code message` instead of accepting."""
        if command.upper() not in ("DATA", "RCPT"):
            raise ValueError("command must be DATA or RCPT")
        with self._lock:
            self._failures.extend((command.upper(), code, message) for _ in range(n))

    def slow_next(self, n: int = 1, seconds: float = 2.0) -> None:
        """Take the next n messages at once but answer their DATA only after `seconds` (a slow spam scan)."""
        with self._lock:
            self._slow_data.extend(seconds for _ in range(n))

    def _scripted(self, command: str) -> str | None:
        with self._lock:
            if self._failures and self._failures[0][0] == command:
                _, code, message = self._failures.popleft()
                return f"{code} {message}"
        return None

    # -- aiosmtpd hooks --------------------------------------------------------------------------------------
    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.user
              and auth_data.password.decode() == self.password)
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str,
                          rcpt_options: list[str]) -> str:
        """Accept a recipient unless a RCPT failure is scripted."""
        answer = self._scripted("RCPT")
        if answer:
            with self._lock:
                self.rejected.append({"command": "RCPT", "answer": answer, "address": address})
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Record the message unless a DATA failure is scripted."""
        answer = self._scripted("DATA")
        if answer:
            with self._lock:
                self.rejected.append({"command": "DATA", "answer": answer, "rcpt_tos": list(envelope.rcpt_tos)})
            return answer
        raw = envelope.original_content or b""
        login = getattr(session.auth_data, "login", None)
        mail = ReceivedMail(mail_from=envelope.mail_from, rcpt_tos=list(envelope.rcpt_tos), raw=raw,
                            message=email.message_from_bytes(raw, policy=email.policy.default),
                            tls=session.ssl is not None, auth_user=login.decode() if login else None,
                            received_at=self.clock.time())
        with self._lock:
            self.messages.append(mail)
            delay = self._slow_data.popleft() if self._slow_data else 0.0
        if delay:
            await asyncio.sleep(delay)
        return "250 Message accepted for delivery"
