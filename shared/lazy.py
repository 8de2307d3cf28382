"""Import heavy modules when first needed (pure code and its tests never pay for them), once, under a lock.

The entry points preload them while the instance starts (web.preload); code that runs elsewhere (tests,
tools) imports them here on first use. The lock keeps two threads from importing one package tree at once,
which can hand one of them a partially initialised module.
"""
from __future__ import annotations

import importlib
import threading
from types import ModuleType

_lock = threading.RLock()
_loaded: dict[str, ModuleType] = {}


def load(name: str) -> ModuleType:
    """Return the module, importing it under the process-wide lazy-import lock."""
    module = _loaded.get(name)
    if module is None:
        with _lock:
            module = _loaded.get(name)
            if module is None:
                module = importlib.import_module(name)
                _loaded[name] = module
    return module
