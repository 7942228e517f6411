# syntax=docker/dockerfile:1

# Build stage: install the project and its dependencies into a virtualenv.
FROM python:3.11-slim AS build
WORKDIR /src
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY pyproject.toml README.md ./
COPY bff ./bff
COPY schema ./schema
COPY resolvers ./resolvers
COPY clients ./clients
RUN pip install .

# The demo services, for docker compose only (`target: demo`): the BFF's image
# below is built from the stage above and carries no demo code and no demo keys.
FROM build AS demo
COPY demo ./demo
RUN pip install ./demo \
    && useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin demo
ENV PYTHONUNBUFFERED=1
USER 10001
EXPOSE 8101-8107
ENTRYPOINT ["python", "-m", "demo"]
CMD ["all"]

# Runtime stage: the virtualenv only, run as an unprivileged user.
FROM python:3.11-slim
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin bff
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    BFF_PROFILE=production \
    BFF_HOST=0.0.0.0 \
    BFF_PORT=8000
USER 10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; url = 'http://127.0.0.1:%s/healthz' % os.environ.get('BFF_PORT', '8000'); sys.exit(0 if urllib.request.urlopen(url, timeout=2).status == 200 else 1)"]
ENTRYPOINT ["bff"]
CMD ["serve"]
