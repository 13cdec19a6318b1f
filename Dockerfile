# glm-slack-bot: one instance per container; run several against one database (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# An unprivileged user; it owns only /data (where a SQLite database would live).
RUN useradd --create-home --uid 10001 --user-group bot \
    && mkdir /data && chown bot:bot /data

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY bot ./bot
COPY migrations ./migrations
# Editable install: the bot finds its Alembic migrations next to its source (/app/migrations).
RUN pip install -e . && python -c "import bot.app"

USER bot
WORKDIR /data
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite+aiosqlite:////data/glm_slack_bot.db
EXPOSE 3000

# 200 once the database answers, 503 otherwise (no curl in the slim image; urllib raises on 503).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.build_opener(u.ProxyHandler({})).open('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '3000'), timeout=4)"]

# SIGTERM lets running answers finish for SHUTDOWN_GRACE_SECONDS (25 s by default).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
