"""An instance's start imports none of the heavy client libraries: they load on first use, after gunicorn forks
its worker (shared/lazy.py). A module that imports google.cloud.firestore directly would put the Firestore
client, gRPC and protobuf into every cold start of the functions that import it."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from deploy.target import ROOT, discover

HEAVY = ("google.cloud.firestore", "grpc", "google.api_core", "httpx")

PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("main", sys.argv[1])
spec.loader.exec_module(importlib.util.module_from_spec(spec))
print(json.dumps(sorted(m for m in sys.argv[2:] if m in sys.modules)))
"""


@pytest.mark.parametrize("function", discover())
def test_starting_a_function_loads_no_heavy_client_library(function):
    done = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "functions" / function / "main.py"), *HEAVY],
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
