"""Renditions of the shared clips, made with PyAV and cached (never committed as video).

Two sets:

* the **development set**: each shared clip as it is and changed the ways unseen cameras differ
  from it (a CIF sub-stream, one at 200 kbit/s, a crop, dusk and haze, half and two frames a
  second, H.265, stored turned), so that the pipeline is judged on more than the footage it
  was written against;
* the **main-stream set**: 1080p H.264 (with and without B-frames), 1080p H.265 and 1440p H.265
  renditions at 2-4 Mbit/s with a 2 s GOP, the kind of file an NVR export or an upload is.

Files go to ``$WARDCAM_BENCH_CACHE`` (default ``$TMPDIR/wardcam-bench``) and are made once;
the name of a file encodes its recipe, so a changed recipe makes a new file.

    .venv/bin/python benchmarks/renditions.py --set dev      # build, print the list
    .venv/bin/python benchmarks/renditions.py --set main
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FOOTAGE = (ROOT / ".." / "shared" / "assets" / "footage").resolve()

Transform = Callable[[np.ndarray], np.ndarray]


def cache_dir() -> Path:
    base = os.environ.get("WARDCAM_BENCH_CACHE") or str(
        Path(tempfile.gettempdir()) / "wardcam-bench"
    )
    path = Path(base)
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass(frozen=True)
class Recipe:
    """How to make one rendition of a source clip."""

    tag: str
    codec: str = "libx264"  # libx264 | libx265
    #: output size: (width, height), or a function of the source size
    size: Callable[[int, int], tuple[int, int]] | None = None
    #: crop in source pixels as fractions (x0, y0, x1, y1), applied before scaling
    crop: tuple[float, float, float, float] | None = None
    #: pixel transform on BGR frames (brightness etc.)
    pixels: Transform | None = None
    #: keep every n-th frame (a lower frame rate) …
    every: int = 1
    #: … or as many as come nearest to this many frames a second (None: ``every``)
    fps: float | None = None
    bit_rate: int | None = None  # None: constant quality (crf)
    crf: int = 23
    gop_s: float | None = 2.0
    bframes: int = 0
    preset: str = "veryfast"
    #: quarter turns the stored picture is turned clockwise, with a display rotation (a
    #: display matrix) that turns it back: how phones store video held the other way, and what
    #: a player, OpenCV and ultralytics show upright
    turn: int = 0


def _even(v: float) -> int:
    return max(2, round(v / 2) * 2)


def _height(h: int) -> Callable[[int, int], tuple[int, int]]:
    return lambda w0, h0: (_even(w0 * h / h0), h)


def _width(w: int) -> Callable[[int, int], tuple[int, int]]:
    return lambda w0, h0: (w, _even(h0 * w / w0))


def _dusk(img: np.ndarray) -> np.ndarray:
    """Darker and a little noisy: a camera at dusk before the IR cut-over."""
    lut = np.clip(255.0 * (np.arange(256) / 255.0) ** 1.8 * 0.6, 0, 255).astype(np.uint8)
    out = cv2.LUT(img, lut)
    noise = np.random.default_rng(int(out[::97, ::89].sum())).normal(0, 4, out.shape)
    return np.clip(out.astype(np.float32) + noise, 0, 255).astype(np.uint8)


def _haze(img: np.ndarray) -> np.ndarray:
    """Washed out: low contrast and bright, as behind a dirty dome or in glare."""
    return cv2.convertScaleAbs(img, alpha=0.6, beta=85)


#: The development set: what the pipeline is judged on besides the shared clips themselves.
DEV_RECIPES: tuple[Recipe, ...] = (
    Recipe("cif", size=_width(352)),
    Recipe("sub640", size=_width(640)),
    Recipe("crop", crop=(0.2, 0.25, 1.0, 1.0)),
    Recipe("dusk", pixels=_dusk),
    Recipe("haze", pixels=_haze),
    Recipe("fps-half", every=2),
    Recipe("h265", codec="libx265", crf=28),
    Recipe("turned", turn=1),
    # an NVR recording at two frames a second (to save disk), and a cheap sub-stream: CIF at
    # 200 kbit/s, whose blocks blur small objects
    Recipe("fps2", fps=2.0),
    Recipe("cif200k", size=_width(352), bit_rate=200_000, gop_s=2.0),
)

#: Main-stream renditions (upscaled from the shared clips, so detail does not grow; the cost of
#: decoding does, which is what they measure).
MAIN_RECIPES: tuple[Recipe, ...] = (
    Recipe("1080p-h264", size=_height(1080), bit_rate=3_000_000, gop_s=2.0),
    Recipe("1080p-h264-bframes", size=_height(1080), bit_rate=3_000_000, gop_s=2.0, bframes=3),
    Recipe("1080p-h265", codec="libx265", size=_height(1080), bit_rate=2_500_000, gop_s=2.0),
    Recipe("1440p-h265-bframes", codec="libx265", size=_height(1440), bit_rate=4_000_000,
           gop_s=2.0, bframes=3),
)


#: 8 MP cameras (3840x2160, H.265): the top of what wards buy; decoding them is most of the cost.
UHD_RECIPES: tuple[Recipe, ...] = (
    Recipe("2160p-h265", codec="libx265", size=_height(2160), bit_rate=8_000_000, gop_s=2.0),
)

RECIPE_SETS: dict[str, tuple[Recipe, ...]] = {
    "dev": DEV_RECIPES, "main": MAIN_RECIPES, "uhd": UHD_RECIPES,
}


def sources(footage: Path = FOOTAGE, names: Sequence[str] | None = None) -> list[Path]:
    files = sorted(footage.glob("*.mp4"))
    if not files:
        raise SystemExit(f"no footage in {footage}")
    if names:
        files = [f for f in files if f.name in names or f.stem in names]
    return files


def _frames(src: Path) -> Iterator[tuple[av.VideoFrame, Fraction]]:
    with av.open(str(src)) as inp:
        stream = inp.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or Fraction(25)
        for frame in inp.decode(stream):
            yield frame, Fraction(rate)


def make(src: Path, recipe: Recipe, out_dir: Path | None = None) -> Path:
    """The rendition of ``src`` by ``recipe`` (made now unless cached)."""
    out_dir = out_dir or cache_dir()
    dst = out_dir / f"{src.stem}.{recipe.tag}.mp4"
    if dst.exists() and dst.stat().st_size > 0:
        return dst
    tmp = dst.with_name(f".{dst.name}.part")
    with av.open(str(src)) as probe:
        s = probe.streams.video[0]
        w0, h0 = s.codec_context.width, s.codec_context.height
        rate = Fraction(s.average_rate or s.guessed_rate or 25)
    cw, ch = w0, h0
    if recipe.crop is not None:
        x0, y0, x1, y1 = recipe.crop
        cx0, cy0 = _even(w0 * x0), _even(h0 * y0)
        cw, ch = _even(w0 * x1) - cx0, _even(h0 * y1) - cy0
    w, h = recipe.size(cw, ch) if recipe.size else (_even(cw), _even(ch))
    sw, sh = (h, w) if recipe.turn % 2 else (w, h)  # the stored picture's size
    every = recipe.every if recipe.fps is None else max(1, round(float(rate) / recipe.fps))
    out_rate = rate / every
    with av.open(str(tmp), "w", format="mp4") as out:
        stream = out.add_stream(recipe.codec, rate=out_rate)
        stream.width, stream.height, stream.pix_fmt = sw, sh, "yuv420p"
        if recipe.turn:
            stream.set_display_rotation(90 * recipe.turn)
        stream.thread_type = "AUTO"
        opts: dict[str, str] = {"preset": recipe.preset}
        gop = max(1, round(float(out_rate) * recipe.gop_s)) if recipe.gop_s else 250
        if recipe.codec == "libx264":
            opts.update({"bf": str(recipe.bframes), "sc_threshold": "0"})
            stream.codec_context.gop_size = gop
            opts["keyint_min"] = str(gop)
            if recipe.bit_rate is None:
                opts["crf"] = str(recipe.crf)
        else:
            params = [f"keyint={gop}", f"min-keyint={gop}", "scenecut=0",
                      f"bframes={recipe.bframes}", "log-level=error"]
            if not recipe.bframes:
                # closed GOPs, as cameras make them (x265 here crashes on open-gop=0 together
                # with B-frames, so those renditions keep x265's open GOPs: CRA pictures)
                params.append("open-gop=0")
            if recipe.bit_rate is None:
                params.append(f"crf={recipe.crf}")
            opts["x265-params"] = ":".join(params)
        if recipe.bit_rate is not None:
            stream.codec_context.bit_rate = recipe.bit_rate
            opts["maxrate"] = str(recipe.bit_rate * 3 // 2)
            opts["bufsize"] = str(recipe.bit_rate * 2)
        stream.options = opts
        n = 0
        for i, (frame, _) in enumerate(_frames(src)):
            if i % every:
                continue
            if recipe.crop is None and recipe.pixels is None and not recipe.turn:
                vf = frame.reformat(width=w, height=h, format="yuv420p",
                                    interpolation="AREA" if w < w0 else "BICUBIC")
            else:
                img = frame.to_ndarray(format="bgr24")
                if recipe.crop is not None:
                    img = img[cy0 : cy0 + ch, cx0 : cx0 + cw]
                if recipe.pixels is not None:
                    img = recipe.pixels(img)
                if (img.shape[1], img.shape[0]) != (w, h):
                    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA)
                if recipe.turn:
                    img = np.rot90(img, -recipe.turn)
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="bgr24")
                vf = vf.reformat(format="yuv420p")
            vf.pts = n
            vf.time_base = 1 / out_rate
            n += 1
            for packet in stream.encode(vf):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    tmp.rename(dst)
    return dst


def build(kind: str, names: Sequence[str] | None = None, footage: Path = FOOTAGE) -> list[Path]:
    """Every rendition of the set ``kind`` (``dev``: the shared clips first; ``main``,
    ``uhd``)."""
    recipes = RECIPE_SETS[kind]
    out: list[Path] = list(sources(footage, names)) if kind == "dev" else []
    for src in sources(footage, names):
        with av.open(str(src)) as c:
            width = c.streams.video[0].codec_context.width
        for recipe in recipes:
            if recipe.tag == "sub640" and width <= 640:
                continue  # already a sub-stream
            out.append(make(src, recipe))
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--set", choices=sorted(RECIPE_SETS), default="dev")
    p.add_argument("--files", nargs="*", help="shared clip names (default: all)")
    args = p.parse_args(argv)
    for path in build(args.set, args.files):
        with av.open(str(path)) as c:
            s = c.streams.video[0]
            print(f"{path}  {s.codec_context.name} {s.codec_context.width}x"
                  f"{s.codec_context.height} {float(s.average_rate or 0):.2f} fps "
                  f"{path.stat().st_size / 1e6:.1f} MB", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
