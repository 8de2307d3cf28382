"""Firestore access: the only package that uses google.cloud.firestore (through shared.lazy), one module per
aggregate.

  client.py     the client, error mapping (Unavailable), exactly-once claims (claims/{name}, always with a TTL)
  incidents.py  incidents/{id}, incident_keys/{key}, live/{key}: the alert path and human changes
  shards.py     live_shards/{key}-{n}: the counter shards of a hot dedup key
  outbox.py     outbox/{incident:reason:channel}: notifications to deliver, exactly once; previews/
  jobs.py       status/{job}: the last run of each periodic job
  oncall.py     oncall_overrides/{id}, handoff_notes/{id}
  probes.py     probes/{key}: each health URL's last result and state; probe_days/{key}:{day}: results by day
  polling.py    polling/{source}: UptimeRobot polling's state (next poll, newest log seen per monitor, errors)
  reports.py    reports/{YYYY-MM-DD}: the daily summaries, stored with the outbox record that posts them
  silences.py   silences/{id}, and the outbox records a silence holds (status `silenced`)
"""
