"""Incident response: the code every Cloud Function shares."""
import os

# The product uses no pydantic plugins, and looking for them reads every installed package's entry points:
# about 50 ms of an instance's cold start (./deploy.sh bench cold). Set before pydantic validates anything.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
