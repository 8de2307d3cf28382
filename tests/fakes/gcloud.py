"""A fake `gcloud` for the deploy tests: answers the commands deploy/ runs from a JSON state file, changes
that state the way Google Cloud would, and logs every call. Anything else exits 2 and says so, so a new
command the deploy starts to run fails the tests until the fake learns it.

Run as `python -m tests.fakes.gcloud ARGS...` with FAKE_GCLOUD_STATE (the state file) and FAKE_GCLOUD_LOG
(one JSON argv per line), or in the test's own process through Gcloud's runner (in_process).

The state's shape: {"account", "apis", "secrets": {name: policy}, "service_accounts", "project_policy",
"secret_values": {name: value} (what `secrets versions access latest` prints), "database", "indexes",
"fields": {"group/field": Field}, "functions": {name: Function v2}, "run_policies":
{service: policy}}; a missing key is an empty project. A composite index it creates is CREATING for the first
"index_build_polls" answers to `firestore indexes composite list` (0 by default), then READY; one a test set
CREATING itself stays so.

Answers follow the REST resources gcloud prints with --format=json:
https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions
https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases.collectionGroups.indexes
https://cloud.google.com/firestore/docs/reference/rest/v1/projects.databases.collectionGroups.fields
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

DEFAULT_FIELD = {"indexConfig": {"usesAncestorConfig": True, "ancestorField": "projects/p/databases/(default)/"
                                 "collectionGroups/__default__/fields/*",
                                 "indexes": [{"queryScope": "COLLECTION", "order": "ASCENDING", "state": "READY"},
                                             {"queryScope": "COLLECTION", "order": "DESCENDING", "state": "READY"}]}}


class NotFound(Exception):
    pass


def flags(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Split positional arguments from --flag=value (repeatable) and bare --flag."""
    positional, named = [], {}
    for a in args:
        if a.startswith("--"):
            key, _, value = a[2:].partition("=")
            named.setdefault(key, []).append(value)
        else:
            positional.append(a)
    return positional, named


def add_member(policy: dict, role: str, member: str) -> None:
    for b in policy.setdefault("bindings", []):
        if b["role"] == role and not b.get("condition"):
            if member not in b["members"]:
                b["members"].append(member)
            return
    policy["bindings"].append({"role": role, "members": [member]})


def remove_member(policy: dict, role: str, member: str) -> None:
    for b in policy.get("bindings", []):
        if b["role"] == role and member in b["members"]:
            b["members"].remove(member)
    policy["bindings"] = [b for b in policy.get("bindings", []) if b["members"]]


def split_pairs(text: str) -> list[str]:
    """Split KEY=VALUE pairs on commas, or on the delimiter a leading ^D^ names (gcloud topic escaping)."""
    if text.startswith("^") and text.index("^", 1) > 0:
        end = text.index("^", 1)
        return text[end + 1:].split(text[1:end])
    return text.split(",")


def deployed(name: str, f: dict[str, list[str]], project: str, old: dict | None) -> dict:
    """Return the Function resource `gcloud functions deploy` leaves behind."""
    region = f["region"][0]
    labels = dict((old or {}).get("labels") or {})
    for pair in (f.get("update-labels") or [""])[0].split(","):
        if pair:
            k, _, v = pair.partition("=")
            labels[k] = v
    env = dict(p.split("=", 1) for p in split_pairs(f["set-env-vars"][0]) if p) if "set-env-vars" in f else {}
    secrets = [{"key": k, "projectId": project, "secret": v.split(":")[0], "version": v.split(":")[1]}
               for k, v in (p.split("=", 1) for p in (f.get("set-secrets") or [""])[0].split(",") if p)]
    service = name.replace("_", "-")
    return {"name": f"projects/{project}/locations/{region}/functions/{name}", "state": "ACTIVE",
            "environment": "GEN_2", "labels": labels, "url": f"https://{region}-{project}.cloudfunctions.net/{name}",
            "buildConfig": {"runtime": f["runtime"][0], "entryPoint": f["entry-point"][0]},
            "serviceConfig": {"uri": f"https://{service}-abc123-as.a.run.app", "serviceAccountEmail":
                              f["service-account"][0], "availableMemory": f["memory"][0],
                              "timeoutSeconds": int(f["timeout"][0].rstrip("s")),
                              "maxInstanceCount": int(f["max-instances"][0]),
                              # the API leaves out a count of 0 (proto3 JSON)
                              **({"minInstanceCount": n} if (n := int((f.get("min-instances") or ["0"])[0])) else {}),
                              "environmentVariables": {**env, "LOG_EXECUTION_ID": "true"},
                              "secretEnvironmentVariables": secrets}}


def answer(s: dict, args: list[str]):
    """Return what gcloud prints for args (JSON-able, or a list of lines for --format=value)."""
    pos, f = flags(args)
    project = (f.get("project") or [""])[0]
    cmd = tuple(pos[:3])
    if pos[:2] == ["auth", "list"]:
        return [s["account"]] if s.get("account") else []
    if pos[:2] == ["auth", "print-access-token"]:
        return ["fake-access-token"] if s.get("account") else None
    if pos[:2] == ["services", "list"]:
        return list(s.get("apis", []))
    if cmd == ("secrets", "list"):
        return [f"projects/123456/secrets/{n}" for n in s.get("secrets", {})]
    if pos[:4] == ["secrets", "versions", "access", "latest"]:   # prints the secret's value as it is
        name = f["secret"][0]
        if name not in s.get("secret_values", {}):
            raise NotFound(f"Secret [projects/123456/secrets/{name}] not found or has no versions")
        return [s["secret_values"][name]]
    if cmd == ("secrets", "get-iam-policy", pos[2] if len(pos) > 2 else ""):
        if pos[2] not in s.get("secrets", {}):
            raise NotFound(f"Secret [projects/123456/secrets/{pos[2]}] not found")
        return s["secrets"][pos[2]]
    if cmd == ("secrets", "add-iam-policy-binding", pos[2]):
        add_member(s["secrets"][pos[2]], f["role"][0], f["member"][0])
        return s["secrets"][pos[2]]
    if pos[:3] == ["iam", "service-accounts", "describe"]:
        if pos[3] not in s.get("service_accounts", []):
            raise NotFound(f"Service account projects/{project}/serviceAccounts/{pos[3]} does not exist.")
        return {"email": pos[3]}
    if pos[:3] == ["iam", "service-accounts", "create"]:
        s.setdefault("service_accounts", []).append(f"{pos[3]}@{project}.iam.gserviceaccount.com")
        return {}
    if pos[:2] == ["projects", "get-iam-policy"]:
        return s.get("project_policy", {"bindings": []})
    if pos[:2] == ["projects", "add-iam-policy-binding"]:
        add_member(s.setdefault("project_policy", {"bindings": []}), f["role"][0], f["member"][0])
        return s["project_policy"]
    if pos[:3] == ["firestore", "databases", "describe"]:
        if not s.get("database"):
            raise NotFound("Database '(default)' not found")
        return s["database"]
    if pos[:3] == ["firestore", "databases", "create"]:
        s["database"] = {"name": f"projects/{project}/databases/(default)", "locationId": f["location"][0],
                         "type": "FIRESTORE_NATIVE"}
        return s["database"]
    if pos[:4] == ["firestore", "indexes", "composite", "list"]:
        building = s.get("index_polls", {})   # index name -> answers it still shows as CREATING
        for index in s.get("indexes", []):
            if index.get("state") == "CREATING" and index["name"] in building:
                if building[index["name"]] <= 0:
                    index["state"] = "READY"
                    del building[index["name"]]
                else:
                    building[index["name"]] -= 1
        return s.get("indexes", [])
    if pos[:4] == ["firestore", "indexes", "composite", "create"]:
        group = f["collection-group"][0]
        fields = []
        for config in f["field-config"]:
            parts = dict(p.split("=", 1) for p in config.split(","))
            field = {"fieldPath": parts["field-path"]}
            if "order" in parts:
                field["order"] = parts["order"].upper()
            else:
                field["arrayConfig"] = parts["array-config"].upper()
            fields.append(field)
        scope = f["query-scope"][0].upper().replace("-", "_")   # listed as COLLECTION or COLLECTION_GROUP
        serial = s["index_serial"] = s.get("index_serial", len(s.get("indexes", []))) + 1   # never one used before
        index = {"name": f"projects/{project}/databases/(default)/collectionGroups/{group}/indexes/CICAgI{serial}",
                 "queryScope": scope,
                 "fields": fields + [{"fieldPath": "__name__", "order": fields[-1].get("order", "ASCENDING")}],
                 "state": "CREATING"}
        s.setdefault("indexes", []).append(index)
        s.setdefault("index_polls", {})[index["name"]] = s.get("index_build_polls", 0)
        return {}
    if pos[:4] == ["firestore", "indexes", "fields", "describe"]:
        return s.get("fields", {}).get(f"{f['collection-group'][0]}/{pos[4]}", DEFAULT_FIELD)
    if pos[:4] == ["firestore", "indexes", "fields", "update"]:
        key = f"{f['collection-group'][0]}/{pos[4]}"
        field = s.setdefault("fields", {}).setdefault(key, json.loads(json.dumps(DEFAULT_FIELD)))
        field["indexConfig"] = {}
        return {}
    if pos[:4] == ["firestore", "fields", "ttls", "update"]:
        key = f"{f['collection-group'][0]}/{pos[4]}"
        field = s.setdefault("fields", {}).setdefault(key, json.loads(json.dumps(DEFAULT_FIELD)))
        field["ttlConfig"] = {"state": "CREATING"}
        return {}
    if pos[:2] == ["functions", "describe"]:
        if pos[2] not in s.get("functions", {}):
            raise NotFound(f"Resource 'projects/{project}/locations/x/functions/{pos[2]}' was not found")
        return s["functions"][pos[2]]
    if pos[:2] == ["functions", "deploy"]:
        name = pos[2]
        s.setdefault("functions", {})[name] = deployed(name, f, project, s.get("functions", {}).get(name))
        policy = s.setdefault("run_policies", {}).setdefault(name.replace("_", "-"), {"bindings": []})
        if "allow-unauthenticated" in f:
            add_member(policy, "roles/run.invoker", "allUsers")
        return {}
    if pos[:2] in (["functions", "add-invoker-policy-binding"], ["functions", "remove-invoker-policy-binding"]):
        service = pos[2].replace("_", "-")
        if service not in s.get("run_policies", {}):
            raise NotFound(f"Function {pos[2]} not found")
        change = add_member if pos[1].startswith("add") else remove_member
        change(s["run_policies"][service], "roles/run.invoker", f["member"][0])
        return s["run_policies"][service]
    if pos[:3] == ["run", "services", "get-iam-policy"]:
        if pos[3] not in s.get("run_policies", {}):
            raise NotFound(f"Service [{pos[3]}] could not be found.")
        return s["run_policies"][pos[3]]
    raise LookupError(" ".join(args))


def call(args: list[str], state_file: str, log_file: str) -> tuple[int, str, str]:
    """Answer one command line as gcloud would: (exit status, standard output, standard error)."""
    with open(log_file, "a", encoding="utf-8") as log:
        log.write(json.dumps(args) + "\n")
    with open(state_file, encoding="utf-8") as fh:
        state = json.load(fh)
    try:
        result = answer(state, args)
    except NotFound as e:
        return 1, "", f"ERROR: (gcloud) NOT_FOUND: {e}\n"
    except LookupError as e:
        return 2, "", f"fake gcloud does not know this command: {e}\n"
    if result is None:
        return 1, "", "ERROR: (gcloud) You do not currently have an active account selected.\n"
    with open(state_file, "w", encoding="utf-8") as fh:
        json.dump(state, fh, indent=1, sort_keys=True)
    if any(a.startswith("--format=value") for a in args) or args[:2] == ["auth", "print-access-token"] or \
            args[:3] == ["secrets", "versions", "access"]:
        return 0, "\n".join(result) + "\n", ""
    return 0, json.dumps(result) + "\n", ""


def in_process(state_file: str, log_file: str):
    """Return a runner for deploy.gcloud.Gcloud that answers in this process (no gcloud process per call)."""
    def runner(argv: list[str]) -> subprocess.CompletedProcess:
        code, out, err = call(list(argv[1:]), state_file, log_file)
        return subprocess.CompletedProcess(argv, code, out, err)
    return runner


def main(args: list[str]) -> int:
    code, out, err = call(args, os.environ["FAKE_GCLOUD_STATE"], os.environ["FAKE_GCLOUD_LOG"])
    sys.stdout.write(out)
    sys.stderr.write(err)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
