"""Evidence export figures.

Builds ten ~1-minute segments of one camera from the shared footage (looped and split at
keyframes, by stream copy only), then measures, on the same machine and in the same run:

1. baseline: ``cp`` of the ten files + ``sha256sum`` of the copies (one subprocess);
2. the full stream-copy export of a 10-minute window spread over the ten segments: re-hash
   of every original against its acquisition hash, cut across segment boundaries, package
   with the originals, sign (``evidence.export.export_package``), then the offline verify;
3. a full re-encode of the same window (decode + libx264, preset ``medium``, via PyAV);
4. a redacted export (real person detector, pixelation, libx264 re-encode) of a shorter
   window, as x realtime.

Usage: ``.venv/bin/python benchmarks/export.py [--redact-seconds 120] [--repeat 3]
[--reencode-preset medium] [--skip-reencode]``. The last line is the headline.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("YOLO_OFFLINE", "1")

import av  # noqa: E402

from evidence import signing  # noqa: E402
from evidence.cut import SourceSegment  # noqa: E402
from evidence.export import CameraWindow, export_package  # noqa: E402
from evidence.verify import verify_package  # noqa: E402
from tests.evidence.footage import build_segments  # noqa: E402

SHARED = ROOT.parent / "shared" / "assets"
FOOTAGE = SHARED / "footage" / "intersection_cctv_day.mp4"
MODELS = SHARED / "models"
T0 = datetime(2025, 3, 1, 8, 0, 0, tzinfo=UTC)


def load() -> str:
    return "load avg " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """(median, best, last result) of ``repeat`` runs."""
    times = []
    result = None
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), result


def reencode(src: Path, dst: Path, preset: str) -> int:
    """Decode the window and encode it again with libx264 (what a non-stream-copy export
    would have to do). Returns frames encoded."""
    n = 0
    with av.open(str(src)) as ic, av.open(str(dst), "w", format="mp4") as oc:
        ist = ic.streams.video[0]
        ist.thread_type = "AUTO"
        ost = oc.add_stream("libx264", rate=ist.average_rate or 30)
        ost.width = ist.codec_context.width
        ost.height = ist.codec_context.height
        ost.pix_fmt = "yuv420p"
        ost.time_base = ist.time_base
        ost.codec_context.time_base = ist.time_base
        ost.thread_type = "AUTO"
        ost.options = {"preset": preset, "crf": "23"}
        for frame in ic.decode(ist):
            for pkt in ost.encode(frame):
                oc.mux_one(pkt)
            n += 1
        for pkt in ost.encode(None):
            oc.mux_one(pkt)
    return n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--window-minutes", type=float, default=10.0)
    ap.add_argument("--redact-seconds", type=float, default=120.0)
    ap.add_argument("--reencode-preset", default="medium")
    ap.add_argument("--skip-reencode", action="store_true")
    ap.add_argument("--skip-redact", action="store_true")
    args = ap.parse_args(argv)

    print(f"machine: {os.cpu_count()} CPUs, {load()}")
    tmp = Path(tempfile.mkdtemp(prefix="wardcam-bench-export-"))
    try:
        t = time.perf_counter()
        built = build_segments(FOOTAGE, tmp / "segments", 10, 60.0, T0)
        total = sum(b.path.stat().st_size for b in built)
        print(f"built 10 segments from {FOOTAGE.name} by stream copy in "
              f"{time.perf_counter() - t:.2f} s: durations "
              f"{', '.join(f'{b.duration_s:.1f}' for b in built)} s; "
              f"{total / 1e6:.1f} MB in all")
        sources = [SourceSegment(b.path, b.start, b.sha256, i) for i, b in enumerate(built)]
        start = T0 + timedelta(seconds=2)
        end = start + timedelta(minutes=args.window_minutes)
        key = signing.derive_signing_key(b"benchmark secret, not a real one")

        # 1. baseline: cp + sha256sum of the same bytes
        files = [str(b.path) for b in built]

        def cp_sha() -> None:
            dst = tmp / "cp"
            shutil.rmtree(dst, ignore_errors=True)
            dst.mkdir()
            subprocess.run(["sh", "-c", 'cp "$@" "$0"/ && sha256sum "$0"/* > /dev/null',
                            str(dst), *files], check=True)

        cp_med, cp_best, _ = timed(cp_sha, args.repeat)
        print(f"[1] cp + sha256sum of the 10 originals ({total / 1e6:.1f} MB): "
              f"median {cp_med:.3f} s, best {cp_best:.3f} s  ({load()})")

        # 2. stream-copy export
        n = [0]

        def export() -> Any:
            n[0] += 1
            out = tmp / f"package{n[0]}.zip"
            res = export_package(
                out, [CameraWindow("cam1", sources, {"camera_id": 1})], start, end,
                signing_key=key,
                manifest_meta={"case": {"id": 1}, "request": {"id": 1}},
                events=[{"id": i, "label": "car"} for i in range(200)],
                custody=[{"seq": i} for i in range(5)],
                workdir=tmp / f"work{n[0]}",
            )
            return res

        ex_med, ex_best, res = timed(export, args.repeat)
        clip = res.cameras[0].clip
        print(f"[2] stream-copy export of {args.window_minutes:g} min over "
              f"{len(clip.sources_used)} segments (re-hash + cut + package + sign): "
              f"median {ex_med:.3f} s, best {ex_best:.3f} s  ({load()})")
        print(f"    clip {clip.packets} frames, requested {clip.requested_start:%H:%M:%S.%f} - "
              f"{clip.requested_end:%H:%M:%S.%f}, actual {clip.actual_start:%H:%M:%S.%f} - "
              f"{clip.actual_end:%H:%M:%S.%f}; package {res.package.size / 1e6:.1f} MB")
        t = time.perf_counter()
        rep = verify_package(res.package.path, signing.public_key_pem(key))
        ver = time.perf_counter() - t
        print(f"    offline verify: {'OK' if rep.ok else 'FAILED'} in {ver:.3f} s")
        stages = _stages(sources, start, end, key, tmp)
        print("    stages (one more run): " + ", ".join(f"{k} {v:.3f} s" for k, v in stages))
        ratio_cp = ex_med / cp_med
        print(f"    ratio to cp + sha256sum: {ratio_cp:.2f}x (target <= 2x); "
              f"<= 1 s: {'yes' if ex_med <= 1.0 else 'no'}")

        # 3. full re-encode of the same window
        ratio_re: float | None = None
        if not args.skip_reencode:
            t = time.perf_counter()
            frames = reencode(clip.path if clip.path.exists() else _recut(sources, start, end,
                                                                          tmp),
                              tmp / "reencoded.mp4", args.reencode_preset)
            re_s = time.perf_counter() - t
            ratio_re = re_s / ex_med
            print(f"[3] full re-encode of the window (libx264 preset {args.reencode_preset}, "
                  f"crf 23, {frames} frames): {re_s:.1f} s = {frames / re_s:.0f} fps; "
                  f"{ratio_re:.0f}x the stream-copy export  ({load()})")

        # 4. redacted export of a shorter window
        x_rt: float | None = None
        if not args.skip_redact:
            from detectors import Detector

            ov = MODELS / "yolo11n_int8_openvino_model"
            det = Detector(ov if ov.is_dir() else MODELS / "yolov8n_int8.onnx", "cpu")
            rstart = start
            rend = rstart + timedelta(seconds=args.redact_seconds)
            t = time.perf_counter()
            rres = export_package(
                tmp / "redacted.zip", [CameraWindow("cam1", sources)], rstart, rend,
                signing_key=key, manifest_meta={"case": {"id": 1}}, redact=True, detector=det,
                workdir=tmp / "rwork",
            )
            red_s = time.perf_counter() - t
            cam = rres.cameras[0]
            assert cam.redacted is not None
            x_rt = cam.clip.duration_s / red_s
            r = cam.redacted
            print(f"[4] redacted export of {cam.clip.duration_s:.1f} s (detector "
                  f"{det.backend_name} {Path(det.model_name).name}, sample "
                  f"{r.parameters['sample_fps']} fps, tiles {r.parameters['tiles']}, "
                  f"{r.samples} samples, {r.frames_redacted}/{r.frames} frames with boxes): "
                  f"{red_s:.1f} s = {x_rt:.1f}x realtime; redaction step alone "
                  f"{r.x_realtime:.1f}x realtime  ({load()})")
            from evidence.redact import redact_clip

            for name in ("motorcycles_cctv_day.mp4", "driveway_ir_night.mp4"):
                rr = redact_clip(SHARED / "footage" / name, tmp / f"red_{name}", detector=det)
                print(f"    redaction alone of {name} ({rr.duration_s:.1f} s, "
                      f"{rr.frames_redacted}/{rr.frames} frames with persons): "
                      f"{rr.elapsed_s:.1f} s = {rr.x_realtime:.1f}x realtime  ({load()})")
        parts = [f"stream-copy export {ex_med:.3f} s for {args.window_minutes:g} min",
                 f"{ratio_cp:.2f}x cp+sha256sum"]
        if ratio_re is not None:
            parts.append(f"re-encode {ratio_re:.0f}x slower")
        if x_rt is not None:
            parts.append(f"redacted export {x_rt:.1f}x realtime")
        print("HEADLINE: " + "; ".join(parts))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _stages(sources: list[SourceSegment], start: datetime, end: datetime, key: Any,
            tmp: Path) -> list[tuple[str, float]]:
    """The stream-copy export's steps timed one by one."""
    from evidence.cut import cut_clip
    from evidence.hashing import verify_sources
    from evidence.package import PackageFile, build_package

    out: list[tuple[str, float]] = []
    t = time.perf_counter()
    verify_sources(sources)
    out.append(("[re-hash of the originals alone, 2 threads: inside the export it is done "
                "while packaging]", time.perf_counter() - t))
    t = time.perf_counter()
    clip = cut_clip(sources, start, end, tmp / "stage_clip.mp4", compute_sha256=False)
    out.append(("cut", time.perf_counter() - t))
    files = [PackageFile(f"originals/{s.path.name}", s.path, "original",
                         expected_sha256=s.sha256) for s in sources]
    files.append(PackageFile("clips/clip.mp4", clip.path, "clip", derivation=clip.derivation()))
    t = time.perf_counter()
    build_package(tmp / "stage.zip", manifest_meta={}, files=files, events=[], thumbnails={},
                  custody=[], signing_key=key)
    out.append(("package (re-hash + compare originals, hash clip, zip, sign)",
                time.perf_counter() - t))
    return out


def _recut(sources: list[SourceSegment], start: datetime, end: datetime, tmp: Path) -> Path:
    from evidence.cut import cut_clip

    return cut_clip(sources, start, end, tmp / "window.mp4").path


if __name__ == "__main__":
    raise SystemExit(main())
