"""notification's relay process: publishes notification's stored events to RabbitMQ."""
from __future__ import annotations

from motcua_common.events.relay_main import run_relay


def main() -> None:
    from motcua_notification.bootstrap import SERVICE, bootstrap

    run_relay(SERVICE, bootstrap)


if __name__ == "__main__":
    main()
