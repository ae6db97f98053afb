"""Run nameko services in their own eventlet process: `python -m motcua_common.runtime.nameko_main module:Class ...`.

eventlet must patch the standard library before anything else imports it, and
psycopg must use its pure-Python implementation (the C one blocks the hub).
gRPC never runs in this process.
"""
from __future__ import annotations

import os
import sys

os.environ.setdefault("PSYCOPG_IMPL", "python")

import warnings  # noqa: E402

# Known and recorded (../shared/MEASURED.md): not a line for every worker start.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import logging  # noqa: E402
import signal  # noqa: E402

from eventsourcing.utils import resolve_topic  # noqa: E402
from nameko.runners import ServiceRunner  # noqa: E402

from motcua_common.observability.logs import configure, get_logger  # noqa: E402
from motcua_common.runtime.nameko_deps import PUBLISHED_EVENTS_CONFIG  # noqa: E402
from motcua_common.config.settings import Settings  # noqa: E402


def nameko_config(settings: Settings) -> dict:
    return {
        "AMQP_URI": settings.amqp_uri,
        "serializer": "json",
        "max_workers": settings.nameko_max_workers,
        "HEARTBEAT": 30,
        **PUBLISHED_EVENTS_CONFIG,
    }


class _LateConfirmNoise(logging.Filter):
    """A call to a service not running yet is returned unroutable and nameko closes its channel; the
    broker's confirm then arrives on the closed channel and py-amqp warns about it on every retry.
    The consumer already says once that its upstream is unavailable (`upstream_unavailable`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "amqp" and "during closing channel" in record.getMessage())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    settings = Settings.from_env()
    service_classes = [resolve_topic(topic) for topic in argv]
    configure(service=service_classes[0].name, process="worker", level=settings.log_level)
    logging.getLogger("amqp").addFilter(_LateConfirmNoise())
    log = get_logger()
    runner = ServiceRunner(nameko_config(settings))
    for cls in service_classes:
        runner.add_service(cls)

    stopping = []

    def shutdown(*_: object) -> None:
        if not stopping:  # nameko's stop must run once; a second signal would re-trigger its events
            stopping.append(True)
            eventlet.spawn_n(runner.stop)

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    runner.start()
    log.info("worker_started", services=[c.name for c in service_classes])
    runner.wait()
    log.info("worker_stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
