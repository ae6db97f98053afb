"""intake's nameko worker: serves intake's notification log to consumers that pull."""
from __future__ import annotations

from nameko.rpc import rpc

from motcua_common.nameko_deps import AuditEndpoints, Built


def _app(settings):  # type: ignore[no-untyped-def]
    from motcua_intake.bootstrap import bootstrap

    return bootstrap(settings)


class IntakeService(AuditEndpoints):
    name = "intake"
    app = Built(_app)

    @property
    def audited_app(self):  # type: ignore[no-untyped-def]
        return self.app

    @rpc
    def read_notifications(self, start: int, limit: int) -> list[dict]:
        return self.app.read_notifications(start, limit)

    @rpc
    def head_position(self) -> int:
        return self.app.head_position()
