"""Firestore access: the only package that imports google.cloud.firestore, one module per aggregate.

  client.py     the client, error mapping (Unavailable), exactly-once claims (claims/{name}, always with a TTL)
  incidents.py  incidents/{id}, incident_keys/{key}, live/{key}: the alert path and human changes
  outbox.py     outbox/{incident:reason:channel}: notifications to deliver, exactly once; previews/
  status.py     status/{job}: how periodic jobs went
  oncall.py     oncall_overrides/{id}, handoff_notes/{id}
"""
