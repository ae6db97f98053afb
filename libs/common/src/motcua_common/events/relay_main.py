"""Run a service's relay as a process until SIGTERM/SIGINT."""
from __future__ import annotations

import signal
import threading
from typing import Callable

from motcua_common.observability.logs import configure, get_logger
from motcua_common.events.relay import Relay
from motcua_common.config.settings import Settings


def run_relay(service: str, bootstrap: Callable[[Settings], object]) -> None:
    settings = Settings.from_env()
    configure(service=service, process="relay", level=settings.log_level)
    app = bootstrap(settings)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    get_logger().info("relay_started")
    Relay(app, settings.postgres_conninfo(), settings.amqp_uri, schema=service).run(stop)  # type: ignore[arg-type]
    get_logger().info("relay_stopped")
