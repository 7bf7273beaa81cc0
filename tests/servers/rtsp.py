"""A real RTSP server on loopback for tests and benchmarks: GStreamer's gst-rtsp-server.

Why GStreamer in a subprocess run by the *system* Python: gst-rtsp-server is a mature RTSP
server (Basic and Digest authentication, RTSP over TLS, RTP over the RTSP connection) and Debian
packages it with its Python bindings (``python3-gi``, ``gir1.2-gst-rtsp-server-1.0``); those
bindings cannot be installed into the project's venv, so the server runs as
``/usr/bin/python3 tests/servers/rtsp.py CONFIG.json`` (``scripts/services.sh`` installs the
packages).  This module is both that program (``_serve``, stdlib + ``gi`` only) and the handle
the tests use (:class:`RtspServer`, stdlib only).

Each mount plays one MP4 by stream copy (``qtdemux ! h264parse ! rtph264pay``: nothing is
decoded or encoded, so one server carries 100+ mounts) at real time (the pipeline clock paces
it), looped without end: when the file is done a non-flushing *segment seek* starts it again,
so running time, and with it the RTP timestamps, keep increasing as from a live camera.
Every client gets its own pipeline (not shared), starting at the beginning of the file: a
shared media (``set_shared``) was tried for the fleet benchmark, but a client joining it late
gets about a second of already-queued packets and its timestamps step back by as much, which
no camera does.

A server has one or more listeners, each on its own loopback port with its own
authentication: ``none``, ``basic`` or ``digest``, optionally over TLS (``rtsps://``, with a
self-signed certificate the handle generates).  All listeners serve the same mounts and accept
the same user and password.  :meth:`RtspServer.stop` kills the process (clients see the
connection drop); :meth:`RtspServer.start` again brings it back on the same ports.
"""

from __future__ import annotations

import faulthandler
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

#: The interpreter that has the GStreamer bindings (Debian's, not the venv's).
GST_PYTHON = os.environ.get("WARDCAM_GST_PYTHON", "/usr/bin/python3")
DEBIAN_PACKAGES = (
    "python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base "
    "gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-libav glib-networking"
)


class RtspServerError(RuntimeError):
    """The server could not be started (missing packages, bad file, port taken...)."""


@dataclass(frozen=True)
class Mount:
    """``path`` (``/cam1``) serves ``file`` (an MP4 with H.264 or H.265 video)."""

    path: str
    file: str
    codec: str = "h264"  # "h264" or "hevc"
    audio: str | None = None  # "aac" to send the file's first AAC track too


@dataclass(frozen=True)
class Listener:
    """One port: ``auth`` is ``none``, ``basic`` or ``digest``; ``tls`` makes it ``rtsps``."""

    name: str
    auth: str = "digest"
    tls: bool = False


class RtspServer:
    """Handle on a gst-rtsp-server process (see the module docstring).

    ``with RtspServer(mounts, listeners) as srv: srv.url("digest", "/cam1")``.
    """

    def __init__(
        self,
        mounts: list[Mount],
        listeners: list[Listener],
        *,
        user: str = "ward7",
        password: str = "p@ss:w/rd#1%",  # noqa: S107 (a test server's)
        workdir: Path | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        if not mounts or not listeners:
            raise ValueError("a server needs at least one mount and one listener")
        for m in mounts:
            if not m.path.startswith("/") or not Path(m.file).is_file():
                raise RtspServerError(f"bad mount {m.path!r}: {m.file} is not a file")
        self.mounts = list(mounts)
        self.listeners = {li.name: li for li in listeners}
        self.user = user
        self.password = password
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="wardcam-rtsp-"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.start_timeout_s = start_timeout_s
        self.ports: dict[str, int] = {}
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "rtsp-server.log"
        self._cert: tuple[str, str] | None = None

    # -- life cycle ------------------------------------------------------------------
    def start(self) -> RtspServer:
        """Start the process (on the same ports as before, after a :meth:`stop`)."""
        if self.running:
            return self
        config: dict[str, Any] = {
            "user": self.user,
            "password": self.password,
            "mounts": [asdict(m) for m in self.mounts],
            "listeners": [
                {**asdict(li), "port": self.ports.get(li.name, 0)} for li in self.listeners.values()
            ],
        }
        if any(li.tls for li in self.listeners.values()):
            cert, key = self._certificate()
            config["tls"] = {"cert": cert, "key": key}
        cfg = self.workdir / "config.json"
        cfg.write_text(json.dumps(config))
        if not Path(GST_PYTHON).exists():
            raise RtspServerError(f"{GST_PYTHON} not found; install: {DEBIAN_PACKAGES}")
        log = open(self.log_path, "ab")  # noqa: SIM115 (handed to the child)
        try:
            self.proc = subprocess.Popen(
                [GST_PYTHON, str(Path(__file__).resolve()), str(cfg)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
            )
        finally:
            log.close()
        ready = self._read_ready()
        self.ports = {name: int(port) for name, port in ready["ports"].items()}
        return self

    def _read_ready(self) -> dict[str, Any]:
        proc = self.proc
        assert proc is not None and proc.stdout is not None
        deadline = time.monotonic() + self.start_timeout_s
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                break
            r, _, _ = select.select([proc.stdout], [], [], min(left, 0.5))
            if r:
                ch = os.read(proc.stdout.fileno(), 1)
                if not ch:
                    break
                line += ch
        try:
            msg: dict[str, Any] = json.loads(line) if line.strip() else {}
        except ValueError:
            msg = {}
        if "ports" not in msg:
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RtspServerError(
                f"gst-rtsp-server did not start (Debian packages needed: {DEBIAN_PACKAGES});"
                f" its log:\n{tail}"
            )
        return msg

    def stop(self) -> None:
        """Kill the server at once, as a camera losing power would (clients see a drop)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()

    def close(self) -> None:
        self.stop()
        if self._own_dir:
            for p in sorted(self.workdir.glob("*")):
                p.unlink(missing_ok=True)
            self.workdir.rmdir()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def describe(self) -> str:
        """Whether the process still runs (or its exit status) and the tail of its log: what a
        test that timed out waiting on a camera prints, so a server that died says so."""
        proc = self.proc
        if proc is None:
            state = "stopped by the test"
        elif (rc := proc.poll()) is None:
            state = f"running (pid {proc.pid}, ports {self.ports})"
        else:
            state = f"EXITED with status {rc} (ports {self.ports})"
        tail = self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""
        return f"RTSP server {state}; its log: {tail.strip() or '(empty)'}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def __enter__(self) -> RtspServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- addresses -------------------------------------------------------------------
    def url(
        self,
        listener: str,
        mount: str,
        user: str | None = "",
        password: str | None = "",
    ) -> str:
        """``rtsp[s]://user:password@127.0.0.1:PORT/mount`` with the credentials
        percent-encoded; ``user=None`` leaves them out, ``""`` means the server's own."""
        li = self.listeners[listener]
        port = self.ports[listener]
        scheme = "rtsps" if li.tls else "rtsp"
        cred = ""
        if user is not None:
            u = user if user != "" else self.user
            p = password if password != "" else self.password
            cred = quote(u, safe="") + (f":{quote(p, safe='')}" if p is not None else "") + "@"
        return f"{scheme}://{cred}127.0.0.1:{port}{mount}"

    def _certificate(self) -> tuple[str, str]:
        """A self-signed certificate for 127.0.0.1 (made once per handle)."""
        if self._cert is None:
            cert, key = self.workdir / "cert.pem", self.workdir / "key.pem"
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-subj",
                    "/CN=127.0.0.1",
                    "-addext",
                    "subjectAltName=IP:127.0.0.1",
                    "-keyout",
                    str(key),
                    "-out",
                    str(cert),
                ],
                check=True,
                capture_output=True,
            )
            self._cert = (str(cert), str(key))
        return self._cert


# ---------------------------------------------------------------------------- the server
def _launch(m: dict[str, Any]) -> str:
    loc = m["file"].replace("\\", "\\\\").replace('"', '\\"')
    parse, pay = (
        ("h265parse", "rtph265pay")
        if m["codec"] in ("hevc", "h265")
        else (
            "h264parse",
            "rtph264pay",
        )
    )
    # config-interval=-1: SPS/PPS before every keyframe, as cameras send them
    # With audio, a queue per branch decouples the two (qtdemux pushes both from its one
    # thread); video alone needs none: one streaming thread less per client.
    queue = "queue ! " if m.get("audio") == "aac" else ""
    desc = (
        f'filesrc location="{loc}" ! qtdemux name=d '
        f"d.video_0 ! {queue}{parse} config-interval=-1 ! {pay} name=pay0 pt=96"
    )
    if m.get("audio") == "aac":
        desc += " d.audio_0 ! queue ! aacparse ! rtpmp4gpay name=pay1 pt=97"
    return f"( {desc} )"


def _serve(config: dict[str, Any]) -> None:  # pragma: no cover - runs under /usr/bin/python3
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtsp", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import Gio, GLib, Gst, GstRtsp, GstRtspServer

    faulthandler.enable()  # a crash in GStreamer leaves its Python stack in the log
    Gst.init(None)

    def loop_seek(media: Any, flush: bool) -> None:
        flags = Gst.SeekFlags.SEGMENT | (Gst.SeekFlags.FLUSH if flush else Gst.SeekFlags.NONE)
        media.get_element().seek(
            1.0, Gst.Format.TIME, flags, Gst.SeekType.SET, 0, Gst.SeekType.NONE, -1
        )

    class LoopMedia(GstRtspServer.RTSPMedia):  # type: ignore[misc,name-defined]
        def do_handle_message(self, message: Any) -> bool:
            if message.type == Gst.MessageType.SEGMENT_DONE:
                loop_seek(self, flush=False)  # play again; running time keeps going
                return True
            if message.type == Gst.MessageType.EOS:
                print("EOS (loop seek lost)", file=sys.stderr, flush=True)
            return bool(GstRtspServer.RTSPMedia.do_handle_message(self, message))

    def start_looping(media: Any) -> None:
        """The first (flushing) segment seek, then a wait until every stream has its new
        segment again: the flush clears it, and a PLAY handled before it is back finds a
        stream without rates, which gst-rtsp-server (1.22) answers with an assertion that
        aborts the whole server (seen once in CI on a loaded machine; the PLAY waits here)."""
        loop_seek(media, flush=True)
        deadline = time.monotonic() + 10.0
        streams = [media.get_stream(i) for i in range(media.n_streams())]
        while time.monotonic() < deadline:
            if all(st.get_rates()[0] for st in streams):
                return
            time.sleep(0.005)
        print("a stream got no segment after the first seek", file=sys.stderr, flush=True)

    def configure(_factory: Any, media: Any) -> None:
        media.connect("prepared", start_looping)

    role = "viewer"
    servers = []
    ports: dict[str, int] = {}
    cert = None
    if "tls" in config:
        pem = Path(config["tls"]["cert"]).read_text() + Path(config["tls"]["key"]).read_text()
        cert = Gio.TlsCertificate.new_from_pem(pem, -1)
    for li in config["listeners"]:
        srv = GstRtspServer.RTSPServer()
        srv.set_address("127.0.0.1")
        srv.set_service(str(li["port"]))
        srv.set_backlog(256)
        if li["auth"] != "none" or li["tls"]:
            auth = GstRtspServer.RTSPAuth()
            token = GstRtspServer.RTSPToken()
            token.set_string("media.factory.role", role)
            if li["auth"] == "basic":
                auth.set_supported_methods(GstRtsp.RTSPAuthMethod.BASIC)
                basic = GstRtspServer.RTSPAuth.make_basic(config["user"], config["password"])
                auth.add_basic(basic, token)
            elif li["auth"] == "digest":
                auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
                auth.add_digest(config["user"], config["password"], token)
            else:
                auth.set_default_token(token)
            if li["tls"]:
                auth.set_tls_certificate(cert)
            srv.set_auth(auth)
        points = srv.get_mount_points()
        for m in config["mounts"]:
            f = GstRtspServer.RTSPMediaFactory()
            f.set_launch(_launch(m))
            f.set_shared(False)
            f.set_media_gtype(LoopMedia)
            f.set_protocols(GstRtsp.RTSPLowerTrans.TCP)
            f.connect("media-configure", configure)
            f.add_role_from_structure(
                Gst.Structure.from_string(
                    f"{role}, media.factory.access=(boolean)true, "
                    "media.factory.construct=(boolean)true"
                )[0]
            )
            points.add_factory(m["path"], f)
        if srv.attach(None) == 0:
            raise SystemExit(f"cannot listen on 127.0.0.1:{li['port']}")
        servers.append(srv)
        ports[li["name"]] = srv.get_bound_port()
    print(json.dumps({"ports": ports}), flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":  # pragma: no cover
    _serve(json.loads(Path(sys.argv[1]).read_text()))
