# One image per service, holding its three entrypoints (gRPC edge, nameko worker, relay):
#   docker build -f infra/docker/service.Dockerfile --build-arg SERVICE=intake -t motcua/intake:0.1.0 .
# The chart runs the same image three times with different commands.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ARG SERVICE
WORKDIR /src
RUN python -m venv /opt/motcua
ENV PATH=/opt/motcua/bin:$PATH
COPY constraints.txt ./
COPY libs/common ./libs/common
COPY services/${SERVICE} ./services/${SERVICE}
COPY protos ./protos
RUN pip install --no-cache-dir -c constraints.txt grpcio-tools ./libs/common ./services/${SERVICE} \
 && mkdir -p /opt/motcua/generated \
 && python -m grpc_tools.protoc -I protos --python_out=/opt/motcua/generated --grpc_python_out=/opt/motcua/generated \
      $(cd protos && find motcua -name '*.proto') \
 && echo /opt/motcua/generated > "$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/motcua-generated.pth" \
 && pip uninstall -y grpcio-tools setuptools pip

FROM ${PYTHON_IMAGE}
ARG SERVICE
ENV PATH=/opt/motcua/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MOTCUA_SERVICE=${SERVICE}
COPY --from=build /opt/motcua /opt/motcua
RUN apt-get update && apt-get install -y --no-install-recommends fonts-liberation2 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin motcua
USER 10001
EXPOSE 50051 9100
HEALTHCHECK --interval=10s --timeout=5s --retries=3 CMD ["python", "-m", "motcua_common.edge.healthcheck"]
CMD ["sh", "-c", "exec python -m motcua_${MOTCUA_SERVICE}.entrypoints.grpc_server"]
