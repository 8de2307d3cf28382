"""GitHub issues: one per incident, commented and closed when it resolves.

Docs: https://docs.github.com/en/rest/issues/issues
"""
from __future__ import annotations

import httpx

from shared.config import Secret
from shared.notify.base import Result, classify, http, transport_error

HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def _headers(token: Secret) -> dict:
    return {**HEADERS, "Authorization": f"Bearer {token.reveal()}"}


def find_issue(api: str, repo: str, token: Secret, label: str, timeout: float) -> Result:
    """Return the number of an issue already carrying `label` (a retry after a lost answer), if any."""
    try:
        response = http().get(f"{api}/repos/{repo}/issues", params={"labels": label, "state": "all"},
                              headers=_headers(token), timeout=timeout)
    except httpx.HTTPError as e:
        return transport_error(e)
    result = classify(response)
    if result.ok:
        issues = response.json()
        return Result(True, ref=str(issues[0]["number"]) if issues else None)
    return result


def create_issue(api: str, repo: str, token: Secret, issue: dict, timeout: float) -> Result:
    try:
        response = http().post(f"{api}/repos/{repo}/issues", json=issue, headers=_headers(token), timeout=timeout)
    except httpx.HTTPError as e:
        return transport_error(e)
    ref = str(response.json().get("number")) if response.status_code == 201 else None
    return classify(response, ref)


def comment(api: str, repo: str, token: Secret, number: str, body: str, timeout: float) -> Result:
    try:
        response = http().post(f"{api}/repos/{repo}/issues/{number}/comments", json={"body": body},
                               headers=_headers(token), timeout=timeout)
    except httpx.HTTPError as e:
        return transport_error(e)
    return classify(response, number)


def close(api: str, repo: str, token: Secret, number: str, timeout: float) -> Result:
    try:
        response = http().patch(f"{api}/repos/{repo}/issues/{number}",
                                json={"state": "closed", "state_reason": "completed"},
                                headers=_headers(token), timeout=timeout)
    except httpx.HTTPError as e:
        return transport_error(e)
    return classify(response, number)
