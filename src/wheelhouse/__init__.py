"""Prepare and prove air-gapped Python wheelhouses."""

__version__ = "0.1.0"
