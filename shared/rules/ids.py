"""Short, stable, typeable incident ids derived from the dedup key."""
from __future__ import annotations

import hashlib

# Crockford base32: no I, L, O, U, so an id read aloud or typed in Discord survives.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
PREFIX = "INC-"


def incident_id(dedup_key: str, generation: int, length: int = 6) -> str:
    """Return the id of the generation-th incident for a dedup key, e.g. INC-7K3QXD."""
    digest = hashlib.sha256(f"{dedup_key}\n{generation}".encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for _ in range(length):
        number, rem = divmod(number, 32)
        chars.append(_ALPHABET[rem])
    return PREFIX + "".join(chars)


def normalize(typed: str) -> str:
    """Return the canonical id for what a person typed ('inc-7k3qxd', '7K3QXD', 'INC-7K3QXO')."""
    text = typed.strip().upper()
    if text.startswith(PREFIX):
        text = text[len(PREFIX):]
    text = text.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    return PREFIX + text


def is_valid(incident_id: str) -> bool:
    """Return True when a (normalized) id has the shape incident_id() gives."""
    body = incident_id[len(PREFIX):] if incident_id.startswith(PREFIX) else ""
    return 4 <= len(body) <= 12 and all(c in _ALPHABET for c in body)


def key_doc_id(dedup_key: str) -> str:
    """Return a Firestore-safe document id for a dedup key (keys may hold '/')."""
    return hashlib.sha256(dedup_key.encode()).hexdigest()[:40]


MAX_KEY = 255  # PagerDuty's dedup_key limit; longer keys from other sources keep a prefix and a hash of the whole


def bounded_key(dedup_key: str) -> str:
    """Return the dedup key itself when short enough, else a readable prefix and the SHA-256 of the whole key
    (stable: the same long key always gives the same bounded one)."""
    if len(dedup_key) <= MAX_KEY:
        return dedup_key
    return f"{dedup_key[:MAX_KEY - 66]}~{hashlib.sha256(dedup_key.encode()).hexdigest()}"
