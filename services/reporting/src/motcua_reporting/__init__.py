"""motcua reporting: read models, dashboards, exports, and the audit API. Not built yet: see README.md."""
