"""nameko DependencyProviders and entrypoint helpers shared by every service's worker."""
from __future__ import annotations

from typing import Any, Callable

from nameko.extensions import DependencyProvider

from motcua_common.settings import Settings


class Built(DependencyProvider):
    """Builds one object per worker process with `factory(settings)` (e.g. the Application)."""

    def __init__(self, factory: Callable[[Settings], Any]) -> None:
        self.factory = factory
        self.instance: Any = None

    def setup(self) -> None:
        self.instance = self.factory(Settings.from_env())

    def stop(self) -> None:
        close = getattr(self.instance, "close", None)
        if callable(close):
            close()

    def get_dependency(self, worker_ctx: Any) -> Any:
        return self.instance


def bounded(call: Callable[..., Any], seconds: float) -> Callable[..., Any]:
    """An RPC call that gives up after `seconds`.

    nameko RPC waits forever for a reply, and a request sent before the target's
    queue exists is dropped: a consumer holding its in-order lock would hang for good.
    """
    import eventlet

    def timed(*args: Any, **kwargs: Any) -> Any:
        with eventlet.Timeout(seconds):
            return call(*args, **kwargs)

    return timed
