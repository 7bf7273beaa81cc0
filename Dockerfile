# wardcam API / worker image. CPU build by default; for GPU workers build FROM an
# nvidia/cuda runtime image and install the CUDA wheels of torch instead.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    YOLO_OFFLINE=1 YOLO_CONFIG_DIR=/var/lib/wardcam/yolo WARDCAM_DATA_DIR=/var/lib/wardcam

RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/wardcam --create-home wardcam

WORKDIR /srv/wardcam
# LOCK=requirements-api.lock builds an API-only image (no detector stack) for deployments
# whose indexing runs on Celery workers built from the default.
ARG LOCK=requirements.lock
COPY pyproject.toml README.md LICENSE THIRD_PARTY_NOTICES.md requirements*.lock ./
RUN pip install --require-hashes -r "$LOCK"
COPY app ./app
COPY ingest ./ingest
COPY detectors ./detectors
COPY evidence ./evidence
RUN pip install --no-deps . \
 && mkdir -p /var/lib/wardcam/yolo && chown -R wardcam /var/lib/wardcam

USER wardcam
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=5s --retries=5 \
  CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["wardcam", "serve", "--host", "0.0.0.0", "--port", "8000"]
