"""Traces and metrics, set up once per process by `setup()`.

One trace follows a dossier across processes: the gRPC edge starts it (or joins
the caller's W3C `traceparent`), every stored event keeps the `traceparent` of the
span that recorded it in its envelope, the relay publishes each event in a child
span and carries the context in the message headers, and the consumer applies the
event in a span whose parent is that context. Spans that concern a dossier carry
its code as `motcua.dossier_code`.

Environment (documented in README.md, "Observability"):
  MOTCUA_TRACES_EXPORTER       console | otlp | none                         (none)
  MOTCUA_TRACES_SAMPLE_RATIO   0..1, parent-based: a sampled caller is kept (1.0)
  OTEL_EXPORTER_OTLP_ENDPOINT  where `otlp` sends (the standard OpenTelemetry variable)
  MOTCUA_METRICS_PORT          this process's Prometheus scrape port; unset or 0: none
"""
from __future__ import annotations

import atexit
import os
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

from opentelemetry import metrics, propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from motcua_common.errors import MotcuaError

DOSSIER_CODE = "motcua.dossier_code"
_configured = False


class TelemetryConfigError(ValueError):
    pass


def setup(service: str, process: str, env: Mapping[str, str] | None = None) -> None:
    """Install the tracer and meter providers for this process (idempotent)."""
    global _configured
    if _configured:
        return
    env = os.environ if env is None else env
    resource = Resource.create({"service.name": service, "service.namespace": "motcua",
                                "motcua.process": process, "motcua.province": env.get("MOTCUA_PROVINCE", "")})
    exporter_name = env.get("MOTCUA_TRACES_EXPORTER", "none")
    try:
        ratio = float(env.get("MOTCUA_TRACES_SAMPLE_RATIO", "1.0"))
    except ValueError:
        raise TelemetryConfigError("MOTCUA_TRACES_SAMPLE_RATIO must be a number between 0 and 1") from None
    if not 0 <= ratio <= 1:
        raise TelemetryConfigError("MOTCUA_TRACES_SAMPLE_RATIO must be between 0 and 1")
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(ratio)))
    if exporter_name == "console":
        # One JSON line a span, so span lines sit among the JSON log lines of the same process.
        provider.add_span_processor(SimpleSpanProcessor(
            ConsoleSpanExporter(formatter=lambda span: span.to_json(indent=None) + "\n")))
    elif exporter_name == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter_name != "none":
        raise TelemetryConfigError(f"MOTCUA_TRACES_EXPORTER must be console, otlp or none, not {exporter_name!r}")
    trace.set_tracer_provider(provider)
    atexit.register(provider.shutdown)

    port = int(env.get("MOTCUA_METRICS_PORT", "0") or 0)
    if port:
        from opentelemetry.exporter.prometheus import PrometheusMetricReader
        from opentelemetry.sdk.metrics import MeterProvider
        from prometheus_client import start_http_server

        start_http_server(port, addr=env.get("MOTCUA_METRICS_ADDRESS", "127.0.0.1"))
        metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[PrometheusMetricReader()]))
    _configured = True


def tracer() -> trace.Tracer:
    return trace.get_tracer("motcua")


def meter() -> metrics.Meter:
    return metrics.get_meter("motcua")


def current_traceparent() -> str:
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get("traceparent", "")


def context_from(traceparent: str | None) -> Context | None:
    return propagate.extract({"traceparent": traceparent}) if traceparent else None


def context_from_metadata(metadata: Any) -> Context:
    return propagate.extract({k: v for k, v in (metadata or ()) if isinstance(v, str)})


def mark_dossier(code: str) -> None:
    """Name the dossier on the current span (a code, never personal data)."""
    if code:
        trace.get_current_span().set_attribute(DOSSIER_CODE, code)


@contextmanager
def span(name: str, parent_traceparent: str | None = None, kind: trace.SpanKind = trace.SpanKind.INTERNAL,
         **attributes: Any) -> Iterator[trace.Span]:
    with tracer().start_as_current_span(name, context=context_from(parent_traceparent), kind=kind,
                                        attributes={k: v for k, v in attributes.items() if v not in (None, "")}) as s:
        yield s


def traced(name: str) -> Any:
    """Decorator: run a use case in its own span (between the gRPC span and the event store's)."""
    def decorate(function: Any) -> Any:
        import functools

        @functools.wraps(function)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with tracer().start_as_current_span(name, record_exception=False, set_status_on_exception=False) as s:
                try:
                    return function(*args, **kwargs)
                except MotcuaError:
                    raise  # a refusal the caller is told about, not a fault
                except Exception as error:
                    s.record_exception(error)
                    s.set_status(trace.Status(trace.StatusCode.ERROR, type(error).__name__))
                    raise

        return wrapper

    return decorate


def add_trace_ids(_: Any, __: str, event_dict: dict) -> dict:
    """structlog processor: the current span's trace and span ids on every log line."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict
