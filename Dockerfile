# Council's image: `council serve` on port 3000, as a user without privileges.
# docs/deploying.md#docker describes it, and compose.yaml runs it beside PostgreSQL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY handlers ./handlers
COPY models ./models
RUN pip install . && rm -rf /src

# /data holds what Council writes itself: the server key file, and the database when it is SQLite.
# A named volume mounted there starts with this folder's owner, so the council user can write it.
RUN useradd --system --uid 10001 --user-group --create-home council \
    && mkdir /data && chown council:council /data
USER council
WORKDIR /data
VOLUME /data

# Every other setting (Slack's tokens, DATABASE_URL, COUNCIL_SECRET_KEY, …) comes from the
# environment at run time; nothing secret is baked into the image.
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATABASE_URL=sqlite:///data/council.db \
    COUNCIL_SECRET_KEY_FILE=/data/council.key
EXPOSE 3000

# Liveness only (/healthz): /readyz turns 503 while Slack is down, and restarting does not bring
# Slack back. The slim image has no curl; Python's own client does, and fails on anything but 2xx.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '3000') + '/healthz', timeout=4)"]

ENTRYPOINT ["council"]
CMD ["serve"]
