"""The heavy client libraries, imported on first use rather than when an instance starts.

A cold start is mostly imports, and the largest are Firestore's client (with gRPC, protobuf, google-auth
and requests) and the HTTP client of the notification channels. An instance can accept requests before
any of them is needed, and the first call that needs one pays for it once (or finds it loaded by
warm_after_fork). Modules write `from shared.lazy import firestore` where they would write
`from google.cloud import firestore`; attribute access (firestore.Increment, gexc.Conflict) imports.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import threading

_lock = threading.Lock()


class _Lazy:
    """A module imported on its first attribute access."""

    def __init__(self, name: str):
        self._name, self._module = name, None

    def __getattr__(self, attr: str):
        module = self._module
        if module is None:
            with _lock:
                if self._module is None:
                    self._module = importlib.import_module(self._name)
                module = self._module
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name}>"


firestore = _Lazy("google.cloud.firestore")
gexc = _Lazy("google.api_core.exceptions")
retries = _Lazy("google.api_core.retry")
httpx = _Lazy("httpx")


_warmers: list = []


def warm_with(make) -> None:
    """Have warm_after_fork call make() too (the store registers its client)."""
    _warmers.append(make)


def _warm() -> None:
    # Firestore's client only: every request needs it. The channels' HTTP client loads with the first send; warmed
    # here it made the cold start's first answer wait while it loaded beside the request, whether or not the
    # request sent anything (./deploy.sh bench cold).
    for make in _warmers:
        with contextlib.suppress(Exception):  # the request that needs it reports what is wrong
            make()  # e.g. imports Firestore's client and opens its channel


def warm_after_fork() -> None:
    """Once the serving process is forked (gunicorn's worker under the functions-framework CLI), create the
    clients registered with warm_with in the background: the instance accepts connections before they are
    loaded, and the first alert usually finds them ready. Without a fork (tests, the local dev server) they
    load on first use."""
    os.register_at_fork(after_in_child=lambda: threading.Thread(target=_warm, name="warm", daemon=True).start())
