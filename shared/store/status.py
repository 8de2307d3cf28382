"""How periodic jobs went (status/{job}), for the health check."""
from __future__ import annotations

from shared.store.client import call, client

STATUS = "status"


def set_status(name: str, fields: dict) -> None:
    """Record how a periodic job went."""
    call(client().collection(STATUS).document(name).set, fields)


def get_status(name: str) -> dict | None:
    snap = call(client().collection(STATUS).document(name).get)
    return snap.to_dict() if snap.exists else None
