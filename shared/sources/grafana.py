"""Grafana unified alerting webhook contact point: the Alertmanager shape plus Grafana's fields.

Authenticated with Grafana's HMAC signature (`X-Grafana-Alerting-Signature`: hex HMAC-SHA256 of the body
with GRAFANA_WEBHOOK_SECRET; of "<timestamp>:<body>" when GRAFANA_TIMESTAMP_HEADER names the timestamp
header Grafana was told to send) or, without a signature, the ingest token.
Docs: https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
"""
from __future__ import annotations

from shared.config import config
from shared.config.settings import Settings
from shared.errors import Unauthorized
from shared.model import Alert
from shared.sources.alertmanager import parse_group
from shared.sources.common import InboundRequest, check_hmac_sha256, check_token

NAME = "grafana"
AUTH = "X-Grafana-Alerting-Signature (HMAC-SHA256, GRAFANA_WEBHOOK_SECRET) or ?token=INGEST_TOKEN"
SIGNATURE = "x-grafana-alerting-signature"


def authenticate(req: InboundRequest, settings: Settings) -> None:
    signature = req.header(SIGNATURE)
    if not signature:
        check_token(req, settings.ingest_token)
        return
    message = req.body
    if settings.grafana_timestamp_header:
        stamp = req.header(settings.grafana_timestamp_header)
        if not stamp:
            raise Unauthorized(f"missing {settings.grafana_timestamp_header} header")
        message = stamp.encode() + b":" + req.body
    check_hmac_sha256(settings.grafana_webhook_secret, message, signature, "X-Grafana-Alerting-Signature")


def delivery_id(req: InboundRequest) -> str | None:
    return None


def parse(req: InboundRequest) -> list[Alert]:
    return parse_group(req.json_object(), NAME, config().sources.grafana.one_incident_per)
