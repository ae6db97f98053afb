"""The gRPC edge: server bootstrap with health and reflection, the interceptors (request
validation against the protos, admission control, the caller's deadline, errors mapped to gRPC
status codes) and the health-check command used by containers and the local runner."""
