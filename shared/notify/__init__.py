"""Notifications: rendering, one module per channel, the outbox that delivers each exactly once."""
