"""structlog JSON lines on stdout from every process, carrying service and dossier code.

Bind the dossier for the duration of a unit of work with `bound(dossier_code=...)`.
"""
from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from typing import Any, Iterator

import structlog

from motcua_common.observability.telemetry import add_trace_ids, setup


def configure(service: str, process: str, level: str = "info") -> None:
    """Logs and telemetry for one process (see motcua_common.observability.telemetry for the variables).

    Every line is one JSON record carrying `service` and `process`: they are added by a
    processor, not bound in a context, because threads and eventlet greenthreads start with
    an empty context. Records of the standard library's loggers (nameko, kombu, grpc) are
    rendered the same way, so a traceback is one record, never loose lines.
    """
    setup(service, process)
    numeric = getattr(logging, level.upper(), logging.INFO)
    identity = _identity(service, process)
    shared = [structlog.contextvars.merge_contextvars, identity, add_trace_ids, structlog.processors.add_log_level,
              structlog.processors.TimeStamper(fmt="iso", utc=True)]
    renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    handler = logging.StreamHandler(_CURRENT_STDOUT)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info,
                    renderer]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.WARNING))
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.WriteLoggerFactory(file=_CURRENT_STDOUT),  # line and newline in one write
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()


class _CurrentStdout:
    """sys.stdout as it is when a line is written, not when logging was configured (a test
    runner replaces and closes it between tests; a process keeps one)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_CURRENT_STDOUT = _CurrentStdout()


def _identity(service: str, process: str) -> Any:
    def add(_: Any, __: str, event_dict: dict) -> dict:
        event_dict.setdefault("service", service)
        event_dict.setdefault("process", process)
        return event_dict

    return add


def get_logger(**initial: Any) -> Any:
    return structlog.get_logger(**initial)


@contextmanager
def bound(**values: Any) -> Iterator[None]:
    with structlog.contextvars.bound_contextvars(**values):
        yield
