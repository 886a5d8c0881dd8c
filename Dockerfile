# uip-intake: the worker (default command) polls the configured IMAP mailbox and sends replies over SMTP;
# the same image serves the staff web app with `uip-intake serve --host 0.0.0.0` on port 8080.
#   docker build -t uip-intake .
#   docker run --rm -e UIP_INTAKE_MAILBOX__PROTOCOL=imap -e UIP_INTAKE_MAILBOX__HOST=imap.example.org ... uip-intake
#   docker run --rm -p 8080:8080 -e UIP_INTAKE_DATABASE__URL=... uip-intake uip-intake serve --host 0.0.0.0
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY ingest ./ingest
COPY parsers ./parsers
COPY storage ./storage
COPY notifications ./notifications
COPY web ./web
COPY cli ./cli
RUN pip install '.[postgres]' \
 && useradd --system --uid 10001 --home-dir /data --create-home uip \
 && mkdir -p /data/var && chown -R uip /data

USER uip
WORKDIR /data
VOLUME ["/data/var"]
EXPOSE 8080
CMD ["uip-intake", "run"]
