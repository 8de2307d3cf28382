"""Structured logs: one JSON object per line, the shape Cloud Logging reads as-is."""
from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone

_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}
_MIN = _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)


def log(severity: str, message: str, **fields: object) -> None:
    """Write one log line; pass ids (incident, request_id), never secrets or whole payloads."""
    if _LEVELS.get(severity, 20) < _MIN:
        return
    record = {"severity": severity, "message": message, "time": datetime.now(timezone.utc).isoformat()}
    record.update({k: v for k, v in fields.items() if v is not None})
    sys.stdout.write(json.dumps(record, default=str, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def info(message: str, **fields: object) -> None:
    log("INFO", message, **fields)


def warning(message: str, **fields: object) -> None:
    log("WARNING", message, **fields)


def error(message: str, **fields: object) -> None:
    log("ERROR", message, **fields)
