"""The cold-start yardstick: a function with only the libraries every function here is built on
(functions-framework, and Firestore's client loaded on first use as shared/lazy.py does) that stores one
document per request. Started the same way as ingest, its first answer is the floor those libraries set
on this machine: what ingest's cold start is measured beside (tests/bench/__main__.py, cold_starts)."""
import time
import uuid

import functions_framework


@functions_framework.http
def floor(request):
    from google.cloud import firestore

    firestore.Client().collection("bench_floor").document(uuid.uuid4().hex).set({"at": time.time()})
    return {"stored": True}
