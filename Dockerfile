# wardcam API / worker image.
#   docker build -t wardcam .                                   # API + detector (CPU or GPU)
#   docker build -t wardcam-api --build-arg DEPS=api-deps .      # API only, no detector stack
# torch comes from PyPI with its CUDA libraries, so the same image runs a GPU worker (compose
# profile `gpu`, NVIDIA Container Toolkit on the host) or falls back to the CPU.
# The default detector (yolo11n.pt) is downloaded once, at build time, in the `model` stage:
# the running containers never reach a model hub (YOLO_OFFLINE=1). MODEL=yolo11s.pt (any
# ultralytics asset) fetches another; or mount your own and point WARDCAM_DETECTOR_MODEL at it.
ARG DEPS=detect-deps

FROM python:3.11-slim-bookworm AS system
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    YOLO_OFFLINE=1 YOLO_CONFIG_DIR=/var/lib/wardcam/yolo WARDCAM_DATA_DIR=/var/lib/wardcam
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/wardcam --create-home wardcam
WORKDIR /srv/wardcam
COPY pyproject.toml README.md LICENSE THIRD_PARTY_NOTICES.md requirements*.lock ./

FROM system AS api-deps
RUN pip install --require-hashes -r requirements-api.lock

FROM system AS detect-deps
RUN pip install --require-hashes -r requirements.lock

# The model, fetched with ultralytics itself and loaded once to prove it is whole.
FROM detect-deps AS model
ARG MODEL=yolo11n.pt
WORKDIR /opt/wardcam/models
RUN YOLO_OFFLINE=0 YOLO_CONFIG_DIR=/tmp/yolo \
    python -c "import sys; from ultralytics import YOLO; YOLO(sys.argv[1])" "$MODEL" \
 && ls -l /opt/wardcam/models

FROM ${DEPS} AS runtime
ARG MODEL=yolo11n.pt
COPY --from=model /opt/wardcam/models /opt/wardcam/models
ENV WARDCAM_DETECTOR_MODEL=/opt/wardcam/models/${MODEL}
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
