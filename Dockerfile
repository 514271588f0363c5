# The order-complaints bot. Build: docker build -t order-complaints-bot .
# Run:   docker run --env-file .env -v complaints-data:/data order-complaints-bot
# (or deploy/compose.sqlite.yaml for one instance on SQLite, deploy/compose.yaml for two on
# PostgreSQL). See docs/deploying.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DATABASE_PATH=/data/complaints.sqlite3

# A dedicated user without a login shell; /data (a volume it owns) is the only place it
# writes. DATABASE_PATH above is absolute; .env.example leaves it unset so that it holds, and
# the working folder is /data too, so that any relative path an .env gives (data/…, a
# MEDIA_CACHE_DIR) lands in the volume rather than in a folder the user cannot write.
RUN groupadd --system --gid 10001 bot \
    && useradd --system --uid 10001 --gid bot --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin bot \
    && mkdir -p /data \
    && chown bot:bot /data

# Only what the package needs (see .dockerignore); the source is removed once installed.
WORKDIR /tmp/src
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install . && cd / && rm -rf /tmp/src

WORKDIR /data
USER bot
VOLUME ["/data"]
# Webhook mode only (WEBHOOK_PORT); put a TLS-terminating reverse proxy in front of it.
EXPOSE 8443

# GET /healthz on WEBHOOK_PORT answers 200 while the bot runs, in webhook mode and, with
# MEDIA_BASE_URL set, in polling mode too (the media links' server); plain polling mode opens
# no public port, and the check then only asks whether the process is up.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; served = os.environ.get('BOT_MODE', 'polling') == 'webhook' or os.environ.get('MEDIA_BASE_URL'); sys.exit(0) if not served else urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('WEBHOOK_PORT', '8443'), timeout=4)"]

CMD ["python", "-m", "bot"]
