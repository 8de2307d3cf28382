"""Benchmarks (./deploy.sh bench): figures only on the terminal.

Set before any product module is imported: the product's per-incident log lines (a storm makes hundreds)
and the SMTP test server's library warnings would bury the figures; errors still show.
"""
import logging
import os
import warnings

os.environ["LOG_LEVEL"] = "ERROR"
logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd: "Session.login_data is deprecated", per login
warnings.filterwarnings("ignore", category=DeprecationWarning)
