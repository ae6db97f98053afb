"""structlog JSON lines on stdout from every process, carrying service and dossier code.

Bind the dossier for the duration of a unit of work with `bound(dossier_code=...)`.
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import structlog

from motcua_common.telemetry import add_trace_ids


def configure(service: str, process: str, level: str = "info") -> None:
    """Logs and telemetry for one process (see motcua_common.telemetry for the variables)."""
    from motcua_common.telemetry import setup

    setup(service, process)
    numeric = getattr(logging, level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=max(numeric, logging.WARNING), format="%(message)s")
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_trace_ids,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stdout),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(service=service, process=process)


def get_logger(**initial: Any) -> Any:
    return structlog.get_logger(**initial)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    with structlog.contextvars.bound_contextvars(**values):
        yield
