"""Discord channel webhooks: post a message (wait=true, to learn its id) and edit it later.

Docs: https://discord.com/developers/docs/resources/webhook#execute-webhook
"""
from __future__ import annotations

import httpx

from shared.config import Secret
from shared.notify.base import Result, classify, http, transport_error


def post(webhook: Secret, payload: dict, timeout: float) -> Result:
    """Post a message; its id comes back as Result.ref."""
    try:
        response = http().post(webhook.reveal(), params={"wait": "true"}, json=payload, timeout=timeout)
    except httpx.HTTPError as e:
        return transport_error(e)
    ref = None
    if response.status_code == 200:
        try:
            ref = str(response.json().get("id") or "") or None
        except ValueError:
            ref = None
    return classify(response, ref)


def edit(webhook: Secret, message_id: str, payload: dict, timeout: float) -> Result:
    """Edit a message this webhook posted."""
    try:
        response = http().patch(f"{webhook.reveal()}/messages/{message_id}", json=payload, timeout=timeout)
    except httpx.HTTPError as e:
        return transport_error(e)
    return classify(response, message_id)
