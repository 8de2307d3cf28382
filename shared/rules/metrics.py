"""Response metrics per severity for the daily report: time to acknowledge, time to resolve, SLA kept (pure)."""
from __future__ import annotations

from statistics import median

from shared.model import Incident, Severity


def summarize(incidents: list[Incident]) -> dict:
    """Return, per severity, counts, median/max time to acknowledge and resolve (s) and SLA met/breached.
    Incidents closed as invalid (cannot reproduce) are counted apart and left out of the times and SLAs."""
    out = {}
    for severity in sorted(Severity, reverse=True):
        every = [i for i in incidents if i.severity is severity]
        group = [i for i in every if not i.invalid]
        tta = [i.tta_seconds for i in group if i.tta_seconds is not None]
        ttr = [i.ttr_seconds for i in group if i.ttr_seconds is not None]
        out[severity.label] = {
            "incidents": len(group), "invalid": len(every) - len(group),
            "acknowledged": len(tta), "resolved": len(ttr),
            "median_time_to_acknowledge_seconds": median(tta) if tta else None,
            "max_time_to_acknowledge_seconds": max(tta) if tta else None,
            "median_time_to_resolve_seconds": median(ttr) if ttr else None,
            "max_time_to_resolve_seconds": max(ttr) if ttr else None,
            "response_sla_met": sum(1 for i in group if i.sla_response_met is True),
            "response_sla_breached": sum(1 for i in group if i.sla_response_met is False
                                         or "sla-response" in i.escalations),
            "resolution_sla_met": sum(1 for i in group if i.sla_resolution_met is True),
            "resolution_sla_breached": sum(1 for i in group if i.sla_resolution_met is False
                                           or "sla-resolution" in i.escalations),
        }
    return out
