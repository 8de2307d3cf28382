"""A channel with no credentials configured: show the message in the logs and on the local preview page.

This is what `./deploy.sh local` does with no Discord URL, so a newcomer sees the product work without
any account. In production an unset channel is a configuration gap, hence the warning.
"""
from __future__ import annotations

from shared import log
from shared.channels import Message
from shared.channels.base import Result
from shared.settings import Settings
from shared.store import outbox


def show(channel: str, incident_id: str, reason: str, message: Message, settings: Settings) -> Result:
    """Record a rendered message as if it had been sent; return ok."""
    text = message.preview
    if settings.local_preview:  # ./deploy.sh local: show it as the team would read it
        rule = "─" * 60
        print(f"\n{rule}\n{channel} · {reason} · {incident_id}\n{rule}\n{text}\n{rule}\n", flush=True)
    else:
        log.warning(f"{channel} is not configured; showing the {reason} message for {incident_id} here instead",
                    incident=incident_id, channel=channel, preview=text)
    outbox.add_preview({"channel": channel, "incident_id": incident_id, "reason": reason, "text": text[:20000]})
    return Result(True, ref="preview")
