"""Incident response: the code every Cloud Function shares."""
