"""Firestore access, one module per aggregate: the product's only Firestore code (tests/fakes/firestore_tap.py
reads the wire to the emulator; deploy/firestore.py applies the index file). Only the library's public API.

  client.py     the client, every call's retry window, error mapping (Unavailable), exactly-once claims
                (claims/{name}, always with a TTL), contention retries and preconditioned writes
  incidents.py  incidents/{id} (and its keys and live counters) as people and sweeps read them
  alerts.py     the alert path: incident_keys/{key}, live/{key}, opening, counting, raising, closing
  changes.py    people's changes to an incident, the escalation sweep's steps
  shards.py     live_shards/{key}-{n}: the counter shards of a hot dedup key
  outbox.py     outbox/{incident:reason:channel}: notifications to deliver, exactly once; previews/
  timeline.py   an incident's timeline kept under a budget; older entries in incidents/{id}/timeline_archive
  jobs.py       status/{job}: the last run of each periodic job
  limits.py     limits/{name}: per-minute counts of failed console sign-ins (TTL on expire_at)
  oncall.py     oncall_overrides/{id}, handoff_notes/{id}
  probes.py     probes/{key}: each health URL's last result and state; probe_days/{key}:{day}: results by day
  polling.py    polling/{source}: UptimeRobot polling's state (next poll, newest log seen per monitor, errors)
  reports.py    reports/{YYYY-MM-DD}: the daily summaries, stored with the outbox record that posts them
  silences.py   silences/{id}, and the outbox records a silence holds (status `silenced`)
  postmortems.py  postmortems/{incident}: drafts, sections; postmortems/{incident}/action_items/{n}: one document
                per action item (changes to different items never collide)
  status_updates.py, status_days.py   status_updates/{id}, status_days/{day}: the public status page's
"""
