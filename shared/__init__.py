"""Incident response: the code every Cloud Function shares."""
import os

# The product uses no pydantic plugins, and looking for them reads every installed package's entry points: about
# 50 ms wherever a team file is validated (a deployed function starts from its checked form and loads no pydantic).
# Set before pydantic validates anything.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
