# uip-intake worker: polls the configured IMAP mailbox and sends replies over SMTP.
#   docker build -t uip-intake .
#   docker run --rm -e UIP_INTAKE_MAILBOX__PROTOCOL=imap -e UIP_INTAKE_MAILBOX__HOST=imap.example.org ... uip-intake
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY ingest ./ingest
COPY parsers ./parsers
COPY storage ./storage
COPY notifications ./notifications
RUN pip install '.[postgres]' \
 && useradd --system --uid 10001 --home-dir /data --create-home uip \
 && mkdir -p /data/var && chown -R uip /data

USER uip
WORKDIR /data
VOLUME ["/data/var"]
CMD ["uip-intake", "run"]
