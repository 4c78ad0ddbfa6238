"""Escalator: a support team's escalation process, run as software."""

__version__ = "0.1.0"
