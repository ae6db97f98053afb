"""Logs (structlog JSON with trace ids) and telemetry (OpenTelemetry traces and metrics,
the dossier marked on spans). Every other room may use it; it uses only errors."""
