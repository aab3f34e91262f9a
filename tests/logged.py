"""Council's own logging, set up as `council serve` sets it up, with its stream read by a test."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

from bot import logs


@contextmanager
def council_logs(level: str, log_format: str) -> Iterator[io.StringIO]:
    """Configure logging at `level` in `log_format`; yield what it writes; restore it afterwards."""
    root = logging.getLogger()
    kept = (root.handlers[:], root.level)
    logs.configure_stream(level, log_format)
    [handler] = root.handlers
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:], level_kept = kept
        root.setLevel(level_kept)
        for name in logs.CHATTY:
            logging.getLogger(name).setLevel(logging.NOTSET)
