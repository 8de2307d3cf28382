"""The team's web console: sign-in (session), pages (views), routes (HTTP)."""
