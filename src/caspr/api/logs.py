"""Structured logging: one JSON object a line on stderr (request id, status, error id, traceback)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """A log record as JSON: time, level, logger, message, the ``extra`` fields, the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one JSON line."""
        out: dict[str, Any] = {
            "at": dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def configure(level: int = logging.INFO) -> None:
    """Send the ``caspr`` loggers to stderr as JSON (once; a handler already there is kept)."""
    logger = logging.getLogger("caspr")
    if not any(getattr(h, "caspr", False) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        handler.caspr = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(level)
