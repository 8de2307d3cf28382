"""Firestore's composite indexes, single-field exemptions and TTL policies, from shared/firestore.indexes.json.

The file has the shape `firebase deploy` reads ({"indexes": [...], "fieldOverrides": [...]}); what is
already there is left alone, what is missing is created. Indexes that are in the project but not in the file
are reported, never deleted (a person may have made them for a reason).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TextIO

from deploy.steps import Change, Step, command
from deploy.target import ROOT, Target
from shared.clock import clock

INDEX_FILE = ROOT / "shared" / "firestore.indexes.json"
DATABASE = "--database=(default)"


def load(path: Path = INDEX_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _key(index: dict) -> tuple:
    """Return what makes an index the same index: group, scope and fields in order (not __name__)."""
    fields = tuple((f.get("fieldPath"), (f.get("order") or "").upper(), (f.get("arrayConfig") or "").upper())
                   for f in index.get("fields") or [] if f.get("fieldPath") != "__name__")
    return index.get("collectionGroup") or _group(index), (index.get("queryScope") or "COLLECTION").upper(), fields


def _group(index: dict) -> str:
    """Return the collection group of an index as gcloud lists it (.../collectionGroups/<g>/indexes/<id>)."""
    parts = (index.get("name") or "").split("/")
    return parts[parts.index("collectionGroups") + 1] if "collectionGroups" in parts else ""


def create_index(t: Target, index: dict) -> Change:
    argv = ["gcloud", "firestore", "indexes", "composite", "create", f"--collection-group={index['collectionGroup']}",
            f"--query-scope={(index.get('queryScope') or 'COLLECTION').lower().replace('_', '-')}", DATABASE]
    for f in index["fields"]:
        kind = f"order={f['order'].lower()}" if f.get("order") else f"array-config={f['arrayConfig'].lower()}"
        argv.append(f"--field-config=field-path={f['fieldPath']},{kind}")
    return command(*argv, f"--project={t.pid}", "--async")


def _list(ctx, t: Target) -> list[dict]:
    """Return the project's composite indexes as gcloud lists them (each with its state)."""
    argv = ["gcloud", "firestore", "indexes", "composite", "list", DATABASE, f"--project={t.pid}"]
    return ctx.gcloud.read(argv) or []


def composite_indexes(t: Target, spec: dict) -> Step:
    wanted = spec.get("indexes") or []

    def needed(current) -> list[Change]:
        have = {_key(i) for i in current or [] if (i.get("state") or "READY") != "NEEDS_REPAIR"}
        return [create_index(t, i) for i in wanted if _key(i) not in have]

    return Step(f"Firestore composite indexes ({len(wanted)} in shared/firestore.indexes.json)",
                lambda ctx: _list(ctx, t), needed)


def field_override(t: Target, override: dict) -> Step:
    group, name = override["collectionGroup"], override["fieldPath"]
    ttl, no_indexes = bool(override.get("ttl")), override.get("indexes") == []
    where = [f"--collection-group={group}", DATABASE, f"--project={t.pid}"]

    def needed(current) -> list[Change]:
        changes = []
        # A field with no exemption inherits the defaults (usesAncestorConfig, the default indexes listed)
        index_config = {"usesAncestorConfig": True} if current is None else current.get("indexConfig") or {}
        current = current or {}
        if no_indexes and (index_config.get("usesAncestorConfig") or index_config.get("indexes")):
            changes.append(command("gcloud", "firestore", "indexes", "fields", "update", name, "--disable-indexes",
                                   *where, "--async"))
        if ttl and (current.get("ttlConfig") or {}).get("state") not in ("ACTIVE", "CREATING"):
            changes.append(command("gcloud", "firestore", "fields", "ttls", "update", name, "--enable-ttl", *where,
                                   "--async"))
        return changes

    what = " and ".join(w for w, on in (("not indexed", no_indexes), ("TTL", ttl)) if on)
    return Step(f"Firestore field {group}.{name}: {what}",
                lambda ctx: ctx.gcloud.read(["gcloud", "firestore", "indexes", "fields", "describe", name, *where]),
                needed)


def steps(t: Target, spec: dict) -> list[Step]:
    """Return the index steps: the composite indexes, then each field override."""
    return [composite_indexes(t, spec), *[field_override(t, o) for o in spec.get("fieldOverrides") or []]]


def problems(spec: dict) -> list[str]:
    """Return what this deploy cannot apply from the index file (an override that lists its own indexes)."""
    return [f"shared/firestore.indexes.json: {o['collectionGroup']}.{o['fieldPath']}: only `\"indexes\": []` "
            "(not indexed) is supported in a field override" for o in spec.get("fieldOverrides") or []
            if o.get("indexes") not in (None, [])]


# ---------------------------------------------------------------- waiting for the indexes to build

INDEX_WAIT = 600.0   # seconds apply waits for the composite indexes (on a young project's few documents, minutes)
INDEX_POLL = 15.0    # seconds between two looks

# What fails while each composite index builds: Firestore refuses a query whose index is not READY
# (FAILED_PRECONDITION), so these answer 500 or 503 until then. tests/test_deploy.py checks every index has words.
USED_BY = {
    ("incidents", ("status", "created_at")): "the open-incident lists (the API's and console's incident list, the "
                                             "status page, the on-call handoff, silences, the action-item report)",
    ("incidents", ("service", "created_at")): "the incident list filtered by service (API and console)",
    ("incidents", ("environment", "created_at")): "the incident list filtered by environment (API and console)",
    ("incidents", ("severity_rank", "created_at")): "the incident list filtered by severity (API and console)",
    ("incidents", ("pinned_rank", "created_at")): "the incident list filtered by severity (API and console)",
    ("incidents", ("source", "resolved_at")): "the status page's uptime bars (the outages that ended in their days)",
    ("live_shards", ("key_doc", "last_seen")): "the counts of an alert storm's incident once its key is sharded",
    ("live_shards", ("key_doc", "users_affected")): "the counts of an alert storm's incident once its key is sharded",
    ("action_items", ("done", "deadline")): "the overdue action items (the daily report and the reminders)",
    ("action_items", ("done", "done_at")): "the action items done lately (the daily report)",
}


def described(index: dict) -> str:
    """Return an index as a person reads it, with what fails while it is not ready."""
    group, _, fields = _key(index)
    paths = tuple(path for path, _, _ in fields)
    what = USED_BY.get((group, paths), "the queries that need it")
    return f"{group} ({', '.join(paths)}): {what}"


def wait_for_indexes(ctx, t: Target, spec: dict, out: TextIO, wait: float = INDEX_WAIT) -> list[dict]:
    """Wait (at most `wait` seconds, by the product's clock) until every composite index the file wants is READY,
    with a progress line when the count changes; past the bound say which are still building and what fails
    until then. Return those still building."""
    wanted = spec.get("indexes") or []
    timer = clock()
    deadline, shown_count = timer.monotonic() + wait, None
    while True:
        # one that failed to build (NEEDS_REPAIR) was created again by the index step: its new copy is awaited
        ready = {_key(i) for i in _list(ctx, t) if (i.get("state") or "READY").upper() == "READY"}
        building = [i for i in wanted if _key(i) not in ready]
        if not building or timer.monotonic() >= deadline:
            break
        if len(building) != shown_count:
            print(f"waiting for {len(wanted)} Firestore indexes to be ready ({len(building)} building)…", file=out,
                  flush=True)
            shown_count = len(building)
        timer.sleep(max(min(INDEX_POLL, deadline - timer.monotonic()), 0.0))
    if building:
        print(f"\n! {len(building)} of {len(wanted)} Firestore indexes still building after {wait / 60:g} minutes; "
              "Firestore finishes them on its own. Until each is ready, what needs it fails:", file=out)
        for index in building:
            print(f"    - {described(index)}", file=out)
        print(f"  Follow them: gcloud firestore indexes composite list --project={t.pid} "
              "(or run apply again: it waits for them).", file=out)
    elif shown_count is not None:
        print(f"= Firestore indexes: all {len(wanted)} ready", file=out, flush=True)
    return building
