"""Firestore's composite indexes, single-field exemptions and TTL policies, from shared/firestore.indexes.json.

The file has the shape `firebase deploy` reads ({"indexes": [...], "fieldOverrides": [...]}); what is
already there is left alone, what is missing is created. Indexes that are in the project but not in the file
are reported, never deleted (a person may have made them for a reason).
"""
from __future__ import annotations

import json
from pathlib import Path

from deploy.steps import Change, Step, command
from deploy.target import ROOT, Target

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


def composite_indexes(t: Target, spec: dict) -> Step:
    wanted = spec.get("indexes") or []

    def needed(current) -> list[Change]:
        have = {_key(i) for i in current or [] if (i.get("state") or "READY") != "NEEDS_REPAIR"}
        return [create_index(t, i) for i in wanted if _key(i) not in have]

    return Step(f"Firestore composite indexes ({len(wanted)} in shared/firestore.indexes.json)",
                lambda ctx: ctx.gcloud.read(["gcloud", "firestore", "indexes", "composite", "list", DATABASE,
                                             f"--project={t.pid}"]) or [],
                needed)


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
