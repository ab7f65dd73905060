"""Secrets kept out of everything esrerank shows: messages, logs and reports.

A password, API key or token given to ``Cluster`` is remembered here for the life of the process,
and ``redact`` replaces it wherever it appears (a library's error text can echo a header or a
URL); URL credentials (``user:pass@``) are removed wherever a URL is shown.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
_SECRETS: set[str] = set()
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/\s@]+@")


def keep_secret(secret: str | None) -> None:
    """Mask ``secret`` from now on (short values are too likely to be ordinary words)."""
    if secret and len(secret) >= 4:
        _SECRETS.add(secret)


def redact(text: str) -> str:
    """``text`` with every known secret masked and URL credentials removed."""
    for secret in sorted(_SECRETS, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _URL_CREDENTIALS.sub("", text)


class RedactingFilter(logging.Filter):
    """Masks secrets in every record a handler emits."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, ()
        return True
