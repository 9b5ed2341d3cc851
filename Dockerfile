# The streamproc worker (and CLI) as a container image. The broker runs from the official
# apache/kafka image; see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    STREAMPROC_STATE_DIR=/data \
    STREAMPROC_WEB_HOST=0.0.0.0 \
    STREAMPROC_WEB_PORT=6066

WORKDIR /app
COPY . /app
RUN pip install . \
    && useradd --create-home --uid 10001 streamproc \
    && mkdir -p /data \
    && chown streamproc:streamproc /data

USER streamproc
VOLUME ["/data"]
EXPOSE 6066
CMD ["streamproc", "worker"]
