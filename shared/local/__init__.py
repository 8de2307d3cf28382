"""Local development: one server for every function, and the cron runner."""
