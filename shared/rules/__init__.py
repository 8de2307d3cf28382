"""Pure domain rules: no I/O, `now` is always a parameter."""
