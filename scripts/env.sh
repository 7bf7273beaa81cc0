# Sourced by the scripts: where the venv is and how ultralytics must behave on a closed machine.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export YOLO_OFFLINE=1
export YOLO_CONFIG_DIR="${YOLO_CONFIG_DIR:-$ROOT/.yolo}"
SHARED_MODELS="$ROOT/../shared/assets/models"
if [ -z "${WARDCAM_DETECTOR_MODEL:-}" ] && [ -d "$SHARED_MODELS/yolo11n_int8_openvino_model" ]; then
  export WARDCAM_DETECTOR_MODEL="$SHARED_MODELS/yolo11n_int8_openvino_model"
fi
mkdir -p "$YOLO_CONFIG_DIR"

ensure_venv() {  # ensure_venv [LOCK]: the locked dependencies (requirements.lock), then wardcam
  local lock="${1:-requirements.lock}"
  local py="${PYTHON:-python3}"
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    "$py" -c 'import sys; assert sys.version_info >= (3, 11), "wardcam needs Python >= 3.11"'
    "$py" -m venv "$ROOT/.venv"
  fi
  "$ROOT/.venv/bin/python" -m pip install -q --upgrade pip
  "$ROOT/.venv/bin/python" -m pip install -q --require-hashes -r "$ROOT/$lock"
  "$ROOT/.venv/bin/python" -m pip install -q --no-deps -e "$ROOT"
}
