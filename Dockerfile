# The order-complaints bot. Build: docker build -t order-complaints-bot .
# Run:   docker run --env-file .env -v complaints-data:/data order-complaints-bot
# See docs/deploying.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/complaints.sqlite3

# A dedicated user without a login shell; /data is the only place it writes.
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin bot \
    && mkdir -p /data /app \
    && chown bot:bot /data

# Only what the package needs (see .dockerignore); the source is removed once installed.
WORKDIR /tmp/src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && cd / && rm -rf /tmp/src

WORKDIR /app
USER bot
VOLUME ["/data"]
# Webhook mode only (WEBHOOK_PORT); put a TLS-terminating reverse proxy in front of it.
EXPOSE 8443

# In webhook mode, GET /healthz answers 200 while the bot runs; polling mode has no server.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(0) if os.environ.get('BOT_MODE', 'polling') != 'webhook' else urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEBHOOK_PORT', '8443'), timeout=4)"]

CMD ["python", "-m", "bot"]
