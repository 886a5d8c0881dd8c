# uip-intake: the worker (default command) reads the configured mailbox (IMAP or Microsoft Graph) and sends the
# replies; the same image serves the staff web app with `uip-intake serve --host 0.0.0.0` on port 8080.
# Debian 12's Python 3.11 and LibreOffice (Writer, no GUI) from Debian's packages, so .doc forms are read too.
#   docker build -t uip-intake .          (podman build works the same)
#   docker run --rm -v "$PWD/uip-intake.toml:/etc/uip-intake.toml:ro" -e UIP_INTAKE_CONFIG=/etc/uip-intake.toml \
#       uip-intake uip-intake check
#   docker run --rm -p 8080:8080 -e UIP_INTAKE_DATABASE__URL=... uip-intake uip-intake serve --host 0.0.0.0
# Behind a TLS-inspecting proxy, give its CA bundle to the build: --secret id=ca,src=/path/to/ca-bundle.crt
FROM debian:bookworm-slim

ENV DEBIAN_FRONTEND=noninteractive PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 LANG=C.UTF-8
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv python3-uno libreoffice-writer-nogui \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data --create-home uip \
 && mkdir -p /data/var && chown -R uip /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY ingest ./ingest
COPY parsers ./parsers
COPY storage ./storage
COPY notifications ./notifications
COPY web ./web
COPY cli ./cli
# the venv sees Debian's packages, for LibreOffice's uno module (the warm .doc converter)
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && python3 -m venv --system-site-packages /opt/uip-intake \
 && /opt/uip-intake/bin/pip install '.[postgres]' \
 && rm -rf /app/build

ENV PATH=/opt/uip-intake/bin:$PATH
USER uip
WORKDIR /data
VOLUME ["/data/var"]
EXPOSE 8080
# healthy while polls read the mailbox to its end (three poll intervals); the web service overrides it
HEALTHCHECK --interval=60s --start-period=120s CMD ["uip-intake", "health"]
CMD ["uip-intake", "run"]
