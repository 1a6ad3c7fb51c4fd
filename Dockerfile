# tronpay: the TRON payout service as a hardened, distroless container.
#
#   docker build -t pickme/lucid-tron-payment-service:1.0.0 .                     # production
#   docker build --target development -t pickme/lucid-tron-payment-service:dev .  # hot reload
#
# Targets: builder (Debian 13 + the venv), runtime-venv (that venv slimmed for production),
# development and distroless (the default, production). docs/container.md has the run,
# configuration and upgrade instructions; scripts/verify-image builds and proves this file
# on a machine without a registry.
#
# The runtime is gcr.io/distroless/python3-debian13 (Debian 13, CPython 3.13 at
# /usr/bin/python3.13). python3-debian12 reached end of life in April 2026 and is no longer
# published: do not go back to it. The builder must be the same Debian release with Debian's
# own python3-venv, so the venv's interpreter path and its compiled extensions (cp313) are
# exactly what the runtime has.

ARG DEBIAN_IMAGE=debian:13-slim
ARG DISTROLESS_IMAGE=gcr.io/distroless/python3-debian13:nonroot

# ---------------------------------------------------------------------------------------------
FROM ${DEBIAN_IMAGE} AS builder

# USE_WHEELHOUSE=1: install only from wheelhouse/ in the build context (an air-gapped build;
# fill it with `pip download`, see docs/container.md). Hashes are checked either way.
ARG USE_WHEELHOUSE=0
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1 \
    PYTHONDONTWRITEBYTECODE=1

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# Debian's Python of the runtime's release. Not version-pinned on purpose: the distroless
# runtime follows Debian 13's current point release, and so must the builder.
# hadolint ignore=DL3008
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \
    --mount=type=cache,target=/var/lib/apt/lists,sharing=locked \
    rm -f /etc/apt/apt.conf.d/docker-clean \
    && apt-get update \
    && apt-get install -y --no-install-recommends binutils python3-venv \
    && /usr/bin/python3.13 -m venv /opt/venv

# Dependencies first (a layer that changes only with the lock), hash-pinned.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=requirements-prod.txt,target=/tmp/requirements-prod.txt \
    --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    if [ "$USE_WHEELHOUSE" = 1 ]; then set -- --no-index --find-links /wheelhouse; fi \
    && /opt/venv/bin/pip install "$@" --require-hashes --only-binary=:all: \
        -r /tmp/requirements-prod.txt

# The application itself, as a regular (non-editable) install. Then the venv is slimmed:
# no pip (nothing is installed at run time), shared objects stripped of their symbol tables
# (about 40 MB), no bundled test suites, stubs or C sources.
COPY pyproject.toml README.md /src/
COPY src /src/src
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    if [ "$USE_WHEELHOUSE" = 1 ]; then set -- --no-index --find-links /wheelhouse; fi \
    && /opt/venv/bin/pip install "$@" --no-deps /src \
    && /opt/venv/bin/pip uninstall -q -y pip \
    && find /opt/venv -name '*.so*' -type f -exec strip --strip-unneeded {} + \
    && find /opt/venv/lib/python3.13/site-packages -depth -type d \
        \( -name tests -o -name SelfTest \) -exec rm -rf {} + \
    && find /opt/venv/lib/python3.13/site-packages -type f \( -name '*.pyi' -o -name '*.pyx' \
        -o -name '*.pxd' -o -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -delete

# /app: logs/ and tmp/ writable by 65532, secrets/ a private mount point, configs/ read-only.
COPY configs /staging/app/configs
RUN install -d -o 0 -g 0 -m 0755 /staging/app \
    && install -d -o 65532 -g 65532 -m 0750 /staging/app/logs /staging/app/tmp \
    && install -d -o 65532 -g 65532 -m 0700 /staging/app/secrets \
    && chmod -R a+rX,go-w /staging/app/configs

# ---------------------------------------------------------------------------------------------
# The venv the distroless image gets (the development target keeps the builder's, sources
# and all). Third-party packages become bytecode only: each module is compiled once to a
# sourceless .pyc beside where its .py was (hash-based: no file dates in it), then
# the .py and the __pycache__ copies go (about 30 MB). Their tracebacks still name file,
# function and line, without the source text. tronpay and tron_devnet keep their sources
# and precompiled __pycache__: our own tracebacks keep their lines and alembic reads the
# migration scripts. Also gone, as never imported: SQLAlchemy's dialects for databases
# tronpay never talks to (MySQL, Oracle, SQL Server) and its test harness; pycryptodomex
# beyond Hash, Util and Random (tronpay uses its Keccak only; those three import nothing
# else). Pygments stays whole: rich's tracebacks load every lexer to pick one. The last
# lines prove the command line and the application still import with what is left.
FROM builder AS runtime-venv

RUN site=/opt/venv/lib/python3.13/site-packages \
    && rm -rf "$site"/sqlalchemy/dialects/mssql "$site"/sqlalchemy/dialects/mysql \
        "$site"/sqlalchemy/dialects/oracle "$site"/sqlalchemy/testing \
    && rm -rf "$site"/Cryptodome/Cipher "$site"/Cryptodome/PublicKey "$site"/Cryptodome/Signature \
        "$site"/Cryptodome/Protocol "$site"/Cryptodome/IO "$site"/Cryptodome/Math \
    && find "$site" -depth -type d -name __pycache__ \
        -not -path "$site/tronpay/*" -not -path "$site/tron_devnet/*" -exec rm -rf {} + \
    && /opt/venv/bin/python -m compileall -q -b -j 0 --invalidation-mode unchecked-hash \
        -x "^$site/(tronpay|tron_devnet)/" "$site" \
    && find "$site" -type f -name '*.py' \
        -not -path "$site/tronpay/*" -not -path "$site/tron_devnet/*" -delete \
    && /opt/venv/bin/python -c "import tronpay.cli, tronpay.app, alembic.command, uvicorn_worker" \
    && /opt/venv/bin/tronpay --help > /dev/null

# ---------------------------------------------------------------------------------------------
FROM builder AS development

# Test tools, an editable install over the same venv, the devnet beside the service.
RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=requirements-dev.txt,target=/tmp/requirements-dev.txt \
    --mount=type=bind,source=wheelhouse,target=/wheelhouse \
    if [ "$USE_WHEELHOUSE" = 1 ]; then set -- --no-index --find-links /wheelhouse; fi \
    && /opt/venv/bin/python -m ensurepip \
    && /opt/venv/bin/python -m pip install "$@" --require-hashes -r /tmp/requirements-dev.txt \
    && /opt/venv/bin/python -m pip install "$@" --no-deps -e /src

WORKDIR /src
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    TRONPAY_ENV=development \
    TRONPAY_HOST=0.0.0.0 \
    TRONPAY_DEVNET_HOST=0.0.0.0 \
    TRONPAY_DATA_DIR=/src/.tronpay \
    TRONPAY_LOG_LEVEL=debug \
    TRONPAY_LOG_JSON=false
EXPOSE 8090 8091
HEALTHCHECK --interval=10s --timeout=5s --start-period=40s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8090/health', timeout=3)"]
# Mount the source for hot reload: docker run -v "$PWD/src:/src/src" ...
CMD ["tronpay", "serve", "--devnet", "--reload"]

# ---------------------------------------------------------------------------------------------
# The default and production target. No RUN here: the image has no shell.
FROM ${DISTROLESS_IMAGE} AS distroless

ARG VERSION=0.1.0
ARG CREATED=unknown
ARG REVISION=unknown
ARG SOURCE=https://github.com/pickme/lucid-tron-payment-service

LABEL org.opencontainers.image.title="tron-payment-service" \
      org.opencontainers.image.description="tronpay: exactly-once USDT-TRC20 and TRX payouts from a TRON hot wallet" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Proprietary" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.revision="${REVISION}" \
      security.distroless="true" \
      security.nonroot="true" \
      security.readonly="true" \
      security.plane="wallet" \
      security.isolation="payment-only"

COPY --from=runtime-venv /opt/venv /opt/venv
COPY --from=builder /staging/app /app

ENV PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SERVICE_NAME=tron-payment-service \
    SERVICE_PORT=8090 \
    LUCID_ENV=production \
    TMPDIR=/app/tmp \
    TRONPAY_HOST=0.0.0.0 \
    TRONPAY_DATA_DIR=/app/tmp

USER 65532:65532
WORKDIR /app
VOLUME ["/app/logs", "/app/tmp", "/app/secrets"]
EXPOSE 8090

# Exec form with an absolute interpreter: there is no shell to run a string.
HEALTHCHECK --interval=30s --timeout=10s --start-period=40s --retries=3 \
    CMD ["/opt/venv/bin/python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % (os.environ.get('TRONPAY_PORT') or os.environ.get('SERVICE_PORT', '8090')), timeout=3)"]

# distroless python's own entrypoint is the interpreter: name the program explicitly.
# Other processes from the same image: `worker` (the engine alone), `serve --no-engine`.
ENTRYPOINT ["/opt/venv/bin/tronpay"]
CMD ["serve"]
