"""Batched 1080p indexing on one GPU: x realtime per GPU beside plain decoding, and NVDEC.

Why: the CPU figures (README, ``benchmarks/indexing.py``) say how fast one core pool indexes
main-stream footage; a GPU box is sized by how many seconds of 1080p video it indexes per wall
second, over as many streams as it takes to fill the GPU.  This script measures that, on a
machine that has only torch, numpy and OpenCV installed (ultralytics and PyAV come as wheels),
in one short run:

1. makes 1080p H.264 (3 Mbit/s) and, where PyAV's libx265 works, H.265 (2.5 Mbit/s)
   renditions with a 2 s GOP of the given clips (``benchmarks/renditions.py`` recipes);
2. **decode only**: every frame, FFmpeg threads on all cores, one stream: the ceiling a CPU
   decoder puts on any pipeline; and the same through NVDEC (PyAV's ``cuda`` hwaccel, frames
   downloaded to host memory) where this PyAV build and the driver allow it, else it says so;
3. **pipeline**: wardcam's ``run_pipeline`` with ``Detector(model, device)`` (on CUDA: full
   frames in batches of 16, half precision), in 1, 4, 8, 16 concurrent processes (each with
   its share of the cores for decoding); x realtime = seconds of video over all streams per
   wall second, measured from a common start once every process has loaded its model.

The model is the **dequantized yolov8n** of ``benchmarks/gpu_model.py`` (the shared assets
hold no float checkpoint).  A time budget (``--budget``) skips what would overrun it.

    python3 -m benchmarks.gpu --footage .gpu/footage --model .gpu/yolov8n_float.pt
    .venv/bin/python -m benchmarks.gpu --footage ../shared/assets/footage \\
        --model /work/main/.gpu/yolov8n_float.pt --device cpu --seconds 5 --streams 1,2
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import av

T0 = time.monotonic()


def log(msg: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


# ---------------------------------------------------------------------------- environment
def _nvidia_smi(query: str) -> str:
    try:
        out = subprocess.run(["nvidia-smi", f"--query-gpu={query}", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"nvidia-smi: {exc}"
    return (out.stdout or out.stderr).strip()


def describe(device: str) -> dict[str, str]:
    import torch

    info = {
        "gpu": _nvidia_smi("name,memory.total,driver_version"),
        "python": platform.python_version(),
        "torch": f"{torch.__version__} (cuda {torch.version.cuda}, "
                 f"available={torch.cuda.is_available()})",
        "av": f"{av.__version__} (FFmpeg {av.library_versions.get('libavcodec')})",
        "cpus": str(os.cpu_count()),
        "device": device,
    }
    try:
        import ultralytics

        info["ultralytics"] = ultralytics.__version__
    except Exception as exc:  # the run cannot go on, but say why first
        info["ultralytics"] = f"not importable: {exc!r}"
    try:
        import cv2

        info["opencv"] = cv2.__version__
    except Exception as exc:
        info["opencv"] = f"not importable: {exc!r}"
    if torch.cuda.is_available():
        info["torch device"] = torch.cuda.get_device_name(0)
    return info


def _quiet_ultralytics() -> None:
    """Drop ultralytics' per-call 'half is deprecated' warning (Detector passes half=)."""

    class _NoDeprecation(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "deprecated" not in record.getMessage()

    logging.getLogger("ultralytics").addFilter(_NoDeprecation())


# ---------------------------------------------------------------------------- NVDEC
def nvdec_support() -> dict[str, Any]:
    """What this PyAV build offers for NVDEC, and whether a CUDA device context opens."""
    from av.codec.hwaccel import hwdevices_available

    codecs = sorted(c for c in av.codecs_available if c.endswith("_cuvid"))
    devices = list(hwdevices_available())
    return {"cuvid_codecs": codecs, "hwdevices": devices, "cuda_hwaccel": "cuda" in devices}


def _hwaccel() -> Any:
    from av.codec.hwaccel import HWAccel

    return HWAccel(device_type="cuda", allow_software_fallback=False)


# ---------------------------------------------------------------------------- renditions
def trim(src: Path, seconds: float, work: Path) -> Path:
    """The first ``seconds`` of ``src`` (stream copy), or ``src`` itself when 0."""
    if seconds <= 0:
        return src
    dst = work / f"{src.stem}-{seconds:g}s.mp4"
    if dst.exists() and dst.stat().st_size:
        return dst
    tmp = dst.with_name(f".{dst.name}.part.mp4")
    with av.open(str(src)) as inp, av.open(str(tmp), "w") as out:
        vin = inp.streams.video[0]
        ost = out.add_stream_from_template(vin)
        tb = float(vin.time_base or 0)
        start = vin.start_time or 0
        for pkt in inp.demux(vin):
            if pkt.dts is None:
                continue
            if pkt.pts is not None and (pkt.pts - start) * tb >= seconds and pkt.is_keyframe:
                break
            if pkt.pts is not None and (pkt.pts - start) * tb >= seconds + 2:
                break
            pkt.stream = ost
            out.mux(pkt)
    tmp.rename(dst)
    return dst


def renditions(clips: Sequence[Path], seconds: float, work: Path,
               codecs: Sequence[str]) -> dict[str, list[Path]]:
    """``{"1080p-h264": [files], "1080p-h265": [...]}`` (made once, cached in ``work``)."""
    from benchmarks.renditions import MAIN_RECIPES, make

    recipes = {r.tag: r for r in MAIN_RECIPES}
    out: dict[str, list[Path]] = {}
    for tag in (f"1080p-{c}" for c in codecs):
        recipe = recipes[tag]
        if recipe.codec not in av.codecs_available:
            log(f"{tag}: encoder {recipe.codec} not in this PyAV build, skipped")
            continue
        files: list[Path] = []
        t = time.monotonic()
        try:
            for clip in clips:
                files.append(make(trim(clip, seconds, work), recipe, work))
        except Exception as exc:
            log(f"{tag}: encoding failed ({exc!r}), skipped")
            continue
        size = sum(f.stat().st_size for f in files) / 1e6
        log(f"{tag}: {len(files)} files, {size:.1f} MB, {recipe.bit_rate or 0:,} bit/s, "
            f"GOP 2 s (made in {time.monotonic() - t:.1f} s)")
        out[tag] = files
    return out


def probe(path: Path) -> tuple[float, int, str, int, int]:
    """(duration s, frames, codec, width, height) by counting packets."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        n = sum(1 for p in c.demux(s) if p.size)
        fps = float(s.average_rate or s.guessed_rate or 25)
        cc = s.codec_context
        return n / fps, n, cc.name, cc.width, cc.height


# ---------------------------------------------------------------------------- decode only
def decode_all(path: Path, threads: int = 0, nvdec: bool = False) -> tuple[int, str]:
    """Decode every frame; returns (frames, pixel format of the last)."""
    kwargs: dict[str, Any] = {"hwaccel": _hwaccel()} if nvdec else {}
    n, fmt = 0, ""
    with av.open(str(path), **kwargs) as c:
        s = c.streams.video[0]
        if not nvdec:
            s.thread_type = "AUTO"
            s.codec_context.thread_count = threads
        for frame in c.decode(s):
            n += 1
            fmt = frame.format.name
    return n, fmt


def _decode_worker(files: list[str], threads: int, nvdec: bool, min_wall: float,
                   barrier: Any, results: Any) -> None:
    try:
        durations = {f: probe(Path(f))[0] for f in files}
        barrier.wait(timeout=120)
        t0, cpu0 = time.monotonic(), time.process_time()
        frames, video, k = 0, 0.0, 0
        while True:
            f = files[k % len(files)]
            n, _ = decode_all(Path(f), threads, nvdec)
            frames += n
            video += durations[f]
            k += 1
            if k >= len(files) and time.monotonic() - t0 >= min_wall:
                break
        results.put({"t0": t0, "t1": time.monotonic(), "video_s": video, "frames": frames,
                     "cpu_s": time.process_time() - cpu0})
    except Exception as exc:
        results.put({"error": repr(exc)})


# ---------------------------------------------------------------------------- pipeline
def _pipeline_worker(model: str, device: str, phases: list[list[str]], decode_threads: int,
                     min_wall: float, index: int, barrier: Any, results: Any,
                     hw_decode: bool = False) -> None:
    """One process: load the detector, then per phase wait for the others and index."""
    os.environ.setdefault("YOLO_OFFLINE", "1")
    _quiet_ultralytics()
    try:
        import numpy as np

        from detectors.detector import Detector
        from detectors.pipeline import PipelineConfig, run_pipeline

        if decode_threads:  # several processes: each its share of the cores
            import cv2
            import torch

            torch.set_num_threads(decode_threads)
            cv2.setNumThreads(decode_threads)
        det = Detector(model, device)
        det.detect([np.zeros((1080, 1920, 3), np.uint8)] * PipelineConfig().batch_size)
        cfg = PipelineConfig(decode_threads=decode_threads, hw_decode=hw_decode)
        # one pass over one file first: the batch shapes the pipeline makes get their kernels
        # chosen (cudnn) and every lazy import is paid before the clock starts
        warm = time.monotonic()
        run_pipeline(Path(phases[0][index % len(phases[0])]), det, cfg)
        ready = {"ready": index, "backend": det.backend_name, "half": det.half,
                 "warmup_s": time.monotonic() - warm}
    except Exception as exc:
        results.put({"error": f"load: {exc!r}", "index": index})
        barrier.abort()
        return
    results.put(ready)
    for phase, files in enumerate(phases):
        try:
            barrier.wait(timeout=300)
        except Exception:
            return
        t0, cpu0 = time.monotonic(), time.process_time()
        video, events, inferences, errors, k = 0.0, 0, 0, [], index
        hw: set[str] = set()
        while True:
            f = Path(files[k % len(files)])
            res = run_pipeline(f, det, cfg)
            video += res.duration_s
            events += len(res.events)
            inferences += res.inferences
            hw.add(res.decode.hwaccel or "software")
            if res.error:
                errors.append(f"{f.name}: {res.error}")
            k += 1
            if k - index >= len(files) and time.monotonic() - t0 >= min_wall:
                break
        mem = 0.0
        if device.startswith("cuda"):
            import torch

            mem = torch.cuda.max_memory_allocated() / 2**30
        results.put({"phase": phase, "index": index, "t0": t0, "t1": time.monotonic(),
                     "video_s": video, "events": events, "inferences": inferences,
                     "passes": k - index, "errors": errors, "gpu_mem_gib": mem,
                     "decoded_on": sorted(hw),
                     "cpu_s": time.process_time() - cpu0})


class _SmiSampler:
    """Samples GPU and decoder utilisation with nvidia-smi while a phase runs."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            line = _nvidia_smi("utilization.gpu,utilization.decoder").splitlines()[:1]
            try:
                g, d = (float(v.strip().rstrip("%").strip()) for v in line[0].split(","))
                self.samples.append((g, d))
            except (ValueError, IndexError):
                return
            self._stop.wait(0.5)

    def __enter__(self) -> _SmiSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def summary(self) -> str:
        if not self.samples:
            return "-"
        return (f"{statistics.mean(s[0] for s in self.samples):.0f}%/"
                f"{statistics.mean(s[1] for s in self.samples):.0f}%")


@dataclass
class Row:
    rendition: str
    what: str
    streams: int
    xrt: float
    frames_per_s: float = 0.0
    events: str = ""
    cpu_per_video_s: float = 0.0
    util: str = "-"
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _collect(results: Any, want: int, timeout: float, key: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        try:
            item = results.get(timeout=max(0.1, deadline - time.monotonic()))
        except Exception:
            break
        if "error" in item:
            log(f"  worker error: {item['error']}")
            got.append(item)
            if key == "ready":
                break
            continue
        got.append(item)
    return got


def run_streams(model: str, device: str, sets: dict[str, list[Path]], streams: int,
                min_wall: float, deadline: float, hw_decode: bool = False) -> list[Row]:
    """``streams`` processes, each indexing every rendition set in turn (one phase per set)."""
    ctx = mp.get_context("spawn")
    cores = os.cpu_count() or 1
    threads = max(1, cores // streams) if streams > 1 else 0
    tags = list(sets)
    phases = [[str(p) for p in sets[t]] for t in tags]
    barrier = ctx.Barrier(streams + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_pipeline_worker, daemon=True,
                         args=(model, device, phases, threads, min_wall, i, barrier, results,
                               hw_decode))
             for i in range(streams)]
    t_load = time.monotonic()
    for p in procs:
        p.start()
    rows: list[Row] = []
    try:
        ready = _collect(results, streams, min(240.0, deadline - time.monotonic()), "ready")
        if len(ready) < streams or any("error" in r for r in ready):
            log(f"  {streams} streams: only {len(ready)} of {streams} loaded, skipped")
            return rows
        log(f"  {streams} stream(s) loaded in {time.monotonic() - t_load:.1f} s "
            f"with a warm-up pass of {max(r['warmup_s'] for r in ready):.1f} s "
            f"({ready[0]['backend']}, half={ready[0]['half']}, decode threads "
            f"{threads or 'all'} each)")
        for tag in tags:
            if time.monotonic() > deadline:
                log(f"  budget spent: {tag} x{streams} skipped")
                barrier.abort()
                break
            sampler = _SmiSampler() if device.startswith("cuda") else None
            barrier.wait(timeout=60)
            if sampler:
                sampler.__enter__()
            got = _collect(results, streams, max(30.0, deadline - time.monotonic() + 60),
                           "phase")
            if sampler:
                sampler.__exit__()
            done = [g for g in got if "error" not in g]
            if len(done) < streams:
                log(f"  {tag} x{streams}: {len(done)} of {streams} finished")
            if not done:
                continue
            wall = max(g["t1"] for g in done) - min(g["t0"] for g in done)
            video = sum(g["video_s"] for g in done)
            d0, n0 = probe(sets[tag][0])[:2]
            fps = n0 / max(1e-9, d0)
            ev = sum(g["events"] for g in done) / max(1, sum(g["passes"] for g in done))
            errs = [e for g in done for e in g["errors"]]
            decoded_on = sorted({d for g in done for d in g["decoded_on"]})
            what = "pipeline NVDEC" if hw_decode else "pipeline"
            row = Row(tag, what, streams, video / wall, video * fps / wall,
                      f"{ev:.1f}/file", sum(g["cpu_s"] for g in done) / max(1e-9, video),
                      sampler.summary() if sampler else "-",
                      (f"{errs[0]}" if errs else "") + f"decoded on {'+'.join(decoded_on)}",
                      {"wall": wall, "video": video,
                       "inferences_per_video_s": sum(g["inferences"] for g in done) / video,
                       "gpu_mem_gib": max(g["gpu_mem_gib"] for g in done)})
            log(f"  {tag} {what} x{streams}: decoded on {'+'.join(decoded_on)}, "
                f"{video:.0f} s of video in {wall:.1f} s = "
                f"{row.xrt:.1f}x realtime, {row.frames_per_s:.0f} video frames/s, "
                f"events {row.events}, model inputs {row.extra['inferences_per_video_s']:.2f}"
                f"/video s, GPU/NVDEC util {row.util}, "
                f"max GPU mem/process {row.extra['gpu_mem_gib']:.2f} GiB"
                + (f", ERROR {errs[0]}" if errs else ""))
            rows.append(row)
    finally:
        _reap(procs)
    return rows


def run_decode(files: list[Path], streams: int, nvdec: bool, min_wall: float) -> Row | None:
    ctx = mp.get_context("spawn")
    cores = os.cpu_count() or 1
    threads = 0 if streams == 1 else max(1, cores // streams)
    barrier = ctx.Barrier(streams + 1)
    results = ctx.Queue()
    procs = [ctx.Process(target=_decode_worker, daemon=True,
                         args=([str(f) for f in files[i % len(files):] + files[: i % len(files)]],
                               threads, nvdec, min_wall, barrier, results))
             for i in range(streams)]
    for p in procs:
        p.start()
    try:
        barrier.wait(timeout=120)
        with _SmiSampler() if nvdec else _NullCtx() as sampler:
            got = _collect(results, streams, 240.0, "decode")
    finally:
        _reap(procs)
    done = [g for g in got if "error" not in g]
    if not done:
        return None
    wall = max(g["t1"] for g in done) - min(g["t0"] for g in done)
    video = sum(g["video_s"] for g in done)
    frames = sum(g["frames"] for g in done)
    return Row("", "decode NVDEC" if nvdec else "decode CPU", streams, video / wall,
               frames / wall, "", sum(g["cpu_s"] for g in done) / max(1e-9, video),
               sampler.summary() if nvdec else "-",
               f"threads {threads or 'all'}" if not nvdec else "frames to host memory")


def _reap(procs: Sequence[Any], grace: float = 20.0) -> None:
    end = time.monotonic() + grace
    for p in procs:
        p.join(timeout=max(0.1, end - time.monotonic()))
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(timeout=5)


def _nvdec_probe_worker(path: str, results: Any) -> None:
    try:
        n, fmt = decode_all(Path(path), nvdec=True)
        results.put({"frames": n, "fmt": fmt})
    except Exception as exc:
        results.put({"error": f"{type(exc).__name__}: {exc}"})


def nvdec_probe(path: Path, timeout: float = 60.0) -> str:
    """Decode one file through NVDEC in a child process (a crash there cannot end the run)."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    proc = ctx.Process(target=_nvdec_probe_worker, args=(str(path), results), daemon=True)
    proc.start()
    try:
        got = results.get(timeout=timeout)
    except Exception:
        got = {"error": f"no answer in {timeout:.0f} s (exit code {proc.exitcode})"}
    _reap([proc], 10.0)
    if "error" in got:
        return f"no: {got['error']}"
    return f"yes ({got['frames']} frames decoded, {got['fmt']} in host memory)"


class _NullCtx:
    def __enter__(self) -> _NullCtx:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def summary(self) -> str:
        return "-"


# ---------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--footage", type=Path, required=True, help="folder of source clips")
    p.add_argument("--clips", default="street_crossing_day,motorcycles_cctv_day",
                   help="clip stems, comma-separated (default: %(default)s)")
    p.add_argument("--model", required=True, help=".pt/.engine model (benchmarks/gpu_model.py)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--seconds", type=float, default=20,
                   help="first N s of each clip, 0: all (default: %(default)s)")
    p.add_argument("--codecs", default="h264,h265")
    p.add_argument("--streams", default="1,16,8,4",
                   help="concurrent pipeline processes to try (default: %(default)s)")
    p.add_argument("--pipeline-decode", default="sw,nvdec",
                   help="the pipeline's decoding to measure: sw (software), nvdec "
                        "(PipelineConfig.hw_decode on a CUDA detector); default: %(default)s")
    p.add_argument("--no-decode-only", action="store_true",
                   help="skip the decode-only baselines")
    p.add_argument("--min-wall", type=float, default=8.0,
                   help="each process repeats the clips for at least this long (s)")
    p.add_argument("--budget", type=float, default=270.0,
                   help="seconds this run may take; later steps are skipped (default: %(default)s)")
    p.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp"))
                   / "wardcam-gpu")
    args = p.parse_args(argv)
    deadline = T0 + args.budget
    os.environ.setdefault("YOLO_OFFLINE", "1")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    _quiet_ultralytics()
    args.work.mkdir(parents=True, exist_ok=True)

    log("wardcam GPU benchmark: model = dequantized yolov8n (from yolov8n_int8.onnx, "
        "benchmarks/gpu_model.py), not the released float weights")
    for k, v in describe(args.device).items():
        log(f"{k:>12}: {v}")
    nv = nvdec_support()
    log(f"       NVDEC: PyAV cuvid decoders {nv['cuvid_codecs'] or 'none'}; "
        f"hw device types {nv['hwdevices'] or 'none'}")
    if not Path(args.model).exists():
        log(f"model {args.model} does not exist")
        return 2

    names = [c.strip() for c in args.clips.split(",") if c.strip()]
    clips = [args.footage / f"{n}.mp4" for n in names]
    missing = [str(c) for c in clips if not c.exists()]
    if missing:
        log(f"missing clips: {missing}")
        return 2
    sets = renditions(clips, args.seconds, args.work,
                      [c.strip() for c in args.codecs.split(",") if c.strip()])
    if not sets:
        log("no rendition could be made")
        return 2
    for files in sets.values():
        for f in files:
            d, n, codec, w, h = probe(f)
            log(f"  {f.name}: {codec} {w}x{h}, {n} frames, {d:.1f} s")

    rows: list[Row] = []
    # decode only: the CPU ceiling, one stream on all cores; NVDEC where it opens
    nvdec_ok: str = "not tried"
    for tag, files in sets.items():
        if args.no_decode_only:
            break
        row = run_decode(files, 1, False, min(args.min_wall, 5.0))
        if row:
            row.rendition = tag
            rows.append(row)
            log(f"decode CPU {tag}: {row.xrt:.1f}x realtime, {row.frames_per_s:.0f} frames/s "
                f"(all threads), {row.cpu_per_video_s:.2f} CPU-s per video s")
        if nv["cuda_hwaccel"] and args.device.startswith("cuda"):
            verdict = nvdec_probe(files[0])
            log(f"NVDEC {tag}: {verdict}")
            if not verdict.startswith("yes"):
                nvdec_ok = verdict
                continue
            nvdec_ok = verdict
            for streams in (1, 4):
                row = run_decode(files, streams, True, min(args.min_wall, 5.0))
                if row:
                    row.rendition = tag
                    rows.append(row)
                    log(f"decode NVDEC {tag} x{streams}: {row.xrt:.1f}x realtime, "
                        f"{row.frames_per_s:.0f} frames/s, util GPU/NVDEC {row.util}")
        elif not nv["cuda_hwaccel"]:
            nvdec_ok = "no: PyAV has no cuda hwaccel"
    log(f"NVDEC usable: {nvdec_ok}")

    for s in [int(v) for v in args.streams.split(",") if v.strip()]:
        if time.monotonic() > deadline - 20:
            log(f"budget: {s} streams skipped")
            continue
        for mode in [m.strip() for m in args.pipeline_decode.split(",") if m.strip()]:
            if time.monotonic() > deadline - 20:
                log(f"budget: {s} streams ({mode}) skipped")
                continue
            log(f"pipeline ({mode}), {s} concurrent stream(s), "
                f"Detector({Path(args.model).name!r}, {args.device!r})")
            rows += run_streams(args.model, args.device, sets, s, args.min_wall, deadline,
                                hw_decode=mode == "nvdec")

    print(flush=True)
    print(f"{'rendition':<14} {'what':<15} {'streams':>7} {'x realtime':>10} "
          f"{'frames/s':>9} {'CPU-s/vid-s':>11} {'GPU/NVDEC':>9} {'events':>10}  note")
    rows.sort(key=lambda r: (r.rendition, r.what, r.streams))
    for r in rows:
        print(f"{r.rendition:<14} {r.what:<15} {r.streams:>7} {r.xrt:>10.1f} "
              f"{r.frames_per_s:>9.0f} {r.cpu_per_video_s:>11.2f} {r.util:>9} "
              f"{r.events:>10}  {r.note}")
    best: dict[str, Row] = {}
    for r in rows:
        better = r.rendition not in best or r.xrt > best[r.rendition].xrt
        if r.what.startswith("pipeline") and better:
            best[r.rendition] = r
    dec = {r.rendition: r for r in rows if r.what == "decode CPU"}
    gpu = describe_short(args.device)
    parts = [f"{t}: {b.what} {b.xrt:.0f}x realtime per {gpu} with {b.streams} stream(s) "
             f"(decode-only CPU {dec[t].xrt:.0f}x)" if t in dec else
             f"{t}: {b.what} {b.xrt:.0f}x realtime with {b.streams} stream(s)"
             for t, b in best.items()]
    print(f"HEADLINE: {'; '.join(parts) or 'no pipeline figure'}; NVDEC: {nvdec_ok}; "
          f"model dequantized yolov8n fp16 batch 16; total {time.monotonic() - T0:.0f} s",
          flush=True)
    return 0 if best else 1


def describe_short(device: str) -> str:
    if not device.startswith("cuda"):
        return f"{os.cpu_count()}-core CPU"
    name = _nvidia_smi("name").splitlines()[:1]
    return name[0] if name else "GPU"


if __name__ == "__main__":
    sys.exit(main())
