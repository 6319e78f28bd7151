# growthstream: the stream processor's image (used by docker-compose.yml's worker and producer).
#   docker build -t growthstream .
#   docker run --rm -e GROWTH_KAFKA_BOOTSTRAP_SERVERS=... -e GROWTH_REDIS_URL=... growthstream
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package is built from (README.md* matches nothing when there is no README).
COPY pyproject.toml README.md* ./
COPY agents ./agents
COPY models ./models
COPY state ./state
RUN pip install ".[rocksdb]" \
    && rm -rf /src/build /src/*.egg-info

# Run unprivileged, from a writable directory (the worker keeps its local table data there).
RUN useradd --create-home --uid 10001 growth \
    && mkdir -p /var/lib/growthstream \
    && chown growth:growth /var/lib/growthstream
USER growth
WORKDIR /var/lib/growthstream
# the worker's web port: dashboard (GET /) and HTTP API; reachable from outside the container
# only with GROWTH_WEB_HOST=0.0.0.0 (docker-compose.yml sets it)
EXPOSE 6066

ENTRYPOINT ["growthstream"]
CMD ["worker", "-l", "info"]
