"""The recording supervisor: every active camera with a stream URL is recorded, by exactly one
worker, with no per-camera command.

Each worker process (the API's in-process pool, `wardcam worker`, or a recording-only
`wardcam recorders`) runs one `Supervisor`. Every `record_poll_s` it

1. makes sure every active camera's streams have a row in `camera_stream` (`repository.sync`);
2. stops the recorders of streams no longer wanted (camera retired or in maintenance, URL
   removed or changed) and releases them; a recorder whose thread ended is released too;
3. renews its leases (`record_lease_s`); a stream whose lease it lost is stopped at once;
4. claims free streams - never leased, released, or whose worker's lease ran out - up to its
   capacity (`record_capacity`), main streams first, and starts a `CameraRecorder` for each.

So a camera added or re-activated starts within one poll, one retired stops within one poll,
and the streams of a worker that died are claimed by another once its lease runs out (lease
+ one poll). No segment is stored twice: a recorder stores a segment only in a transaction
that finds (and locks) its own lease on the stream (`repository.count_segment`, the fence), and a
recorded segment is unique per (camera, stream, start) in the database. What the recorders
report (state, last segment, measured fps/bitrate/size/codec) goes into the same row: the
camera's health (`app.fleet.service`).
"""

from __future__ import annotations

import logging
import math
import os
import re
import secrets
import shutil
import socket
import threading
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from app.context import AppContext
from app.db import make_engine, session_scope, utcnow
from app.fleet import repository
from app.fleet.repository import Wanted
from app.footage.models import SegmentStream
from app.footage.store_queue import StoreQueue
from ingest import health
from ingest.recorder import CameraRecorder, RecordedSegment, StreamStatus
from ingest.streams import is_file_source, redact_url

log = logging.getLogger(__name__)

UNASSIGNED = "unassigned"
REFUSED = "refused"


def worker_id() -> str:
    """Unique per process start: a restarted worker is a new one (its old leases run out)."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass
class _Running:
    want: Wanted
    recorder: CameraRecorder


def claim_limits(capacity: int, held: int, wanted: int, pool: int) -> tuple[int, int]:
    """(for streams free since an earlier poll, for streams newly free): how many streams a
    supervisor holding `held` may hold more after this poll's claims.

    Why: the N processes of `wardcam recorders --processes N` each have a share of the
    capacity, but the first to poll used to claim up to its whole share, so below full
    capacity the split was uneven (100 + 60 of 160 cameras) and the fuller process paid
    more for its GIL. So a stream newly seen free is claimed only up to a fair share of
    everything wanted (`ceil(wanted / pool)`), leaving the rest to the siblings; a stream
    still free a poll later (no sibling had room for it, or one is restarting) is claimed
    up to the capacity, so fairness never leaves a stream unrecorded longer than a poll.
    With `pool` 1 both are the room left.
    """
    room = max(0, capacity - held)
    if pool <= 1:
        return room, room
    return room, max(0, min(room, math.ceil(wanted / pool) - held))


class Supervisor:
    def __init__(
        self,
        ctx: AppContext,
        capacity: int | None = None,
        *,
        worker: str | None = None,
        pool: int = 1,
    ) -> None:
        settings = ctx.settings
        self.ctx = ctx
        self.capacity = settings.record_capacity if capacity is None else capacity
        # Supervisor processes on this node sharing the cameras (`--processes N`): each
        # claims streams new to it only up to a fair share (`claim_limits`).
        self.pool = max(1, pool)
        self._free_before: set[int] = set()  # streams seen free at the previous poll
        self.lease = timedelta(seconds=settings.record_lease_s)
        self.poll_s = settings.record_poll_s
        self.worker = worker or worker_id()
        self.base = settings.data_dir / "recording" / re.sub(r"[^A-Za-z0-9_.-]", "_", self.worker)
        self.running: dict[int, _Running] = {}
        self.stopping: dict[int, _Running] = {}
        self.refused: dict[int, str] = {}  # row id -> the encrypted URL refused
        self.takeovers = 0
        self._stoppers: list[threading.Thread] = []
        # The supervisor's own queries (leases) use an engine of their own: dozens of
        # recorders storing their segments at once (they cut at about the same moments)
        # must never keep the renewal waiting for a pooled connection until leases run out.
        self.engine = make_engine(settings.database_url, pool=not settings.is_sqlite)
        # The recorders store their segments through one thread, several to a transaction
        # (one lock of the audit chain's head for all of them: `app.footage.store_queue`).
        self.store_queue = StoreQueue(ctx, name=self.worker)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- life cycle ----------------------------------------------------------------------
    def start(self) -> Supervisor:
        self.store_queue.start()
        self._thread = threading.Thread(target=self._loop, name="wardcam-recording", daemon=True)
        self._thread.start()
        log.info("recording supervisor %s: up to %d streams", self.worker, self.capacity)
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every recorder (each closes and stores its open segment) and release."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            runs = list(self.running.values())
            self.running.clear()
        threads = [self._begin_stop(run, UNASSIGNED) for run in runs]
        for t in threads:
            t.join(timeout)
        for t in list(self._stoppers):
            t.join(timeout)
        self.store_queue.close(timeout)
        shutil.rmtree(self.base, ignore_errors=True)
        self.engine.dispose()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("recording supervisor: tick failed; retrying")
            self._stop.wait(self.poll_s)

    # -- one pass --------------------------------------------------------------------------
    def _tx(self) -> AbstractContextManager[Session]:
        return session_scope(self.engine)

    def tick(self) -> None:
        # 1. Renew first: whatever else is slow, the leases held must not run out.
        with self._lock:
            mine = [*self.running, *self.stopping]
        with self._tx() as session:
            held = repository.renew(session, self.worker, mine, self.lease)
        with self._lock:
            for row_id in [r for r in self.running if r not in held]:
                run = self.running.pop(row_id)
                log.warning(
                    "camera %s %s: lease lost; stopping", run.want.camera_id, run.want.stream
                )
                run.recorder.stop_event.set()
        # 2. What should be recorded now.
        with self._tx() as session:
            repository.sync(session)
            want = repository.wanted(session)
        with self._lock:
            for row_id, run in list(self.running.items()):
                w = want.get(row_id)
                if w is None or w.url_encrypted != run.want.url_encrypted:
                    del self.running[row_id]
                    self._begin_stop(run, "stopped" if w is None else UNASSIGNED)
                elif not run.recorder.alive:  # ended by itself (an error): let it be claimed
                    del self.running[row_id]
                    self._release(row_id, "stopped")
            held_now = len(self.running) + len(self.stopping)
            free = self.capacity - held_now
            busy = set(self.running) | set(self.stopping)
        if free <= 0 or self._stop.is_set():
            self._free_before = set()
            return
        # 3. Claim free streams, main streams first.
        for row_id in [
            r for r, url in self.refused.items() if r not in want or want[r].url_encrypted != url
        ]:
            del self.refused[row_id]
        free_ids = [
            w for w in want.values() if w.row_id not in busy and w.row_id not in self.refused
        ]
        # Some of them are held by other workers (a claim skips those). Those seen here at
        # the previous poll too are "old": they may be claimed up to the capacity.
        seen = {w.row_id for w in free_ids}
        old = seen & self._free_before
        self._free_before = seen
        old_limit, new_limit = claim_limits(
            self.capacity, held_now, len(want) - len(self.refused), self.pool
        )
        # Main streams before detect streams; of each, those waiting longest first.
        won: list[tuple[int, bool]] = []
        with self._tx() as session:
            for stream in (repository.MAIN, repository.DETECT):
                for limit, group in (
                    (
                        old_limit,
                        [w.row_id for w in free_ids if w.stream == stream and w.row_id in old],
                    ),
                    (
                        new_limit,
                        [w.row_id for w in free_ids if w.stream == stream and w.row_id not in old],
                    ),
                ):
                    if group and limit > len(won):
                        won += repository.claim(
                            session, self.worker, self.lease, limit - len(won), group
                        )
        for row_id, takeover in won:
            if takeover:
                self.takeovers += 1
                log.info("camera %s %s: taken over", want[row_id].camera_id, want[row_id].stream)
            self._start(want[row_id])

    # -- recorders -----------------------------------------------------------------------
    def _start(self, w: Wanted) -> None:
        settings = self.ctx.settings
        try:
            url = self.ctx.secret_box.decrypt(w.url_encrypted)
        except Exception:
            self._refuse(w, "the stream URL cannot be decrypted (secret key changed?)")
            return
        if is_file_source(url) and not settings.allow_file_streams:
            self._refuse(w, "file:// stream URLs need WARDCAM_ALLOW_FILE_STREAMS=1")
            return
        name = f"cam{w.camera_id}_{w.stream}"
        out = self.base / name
        shutil.rmtree(out, ignore_errors=True)  # left by a crash: never stored, not evidence
        out.mkdir(parents=True, exist_ok=True)
        stream = SegmentStream(w.stream)

        def on_segment(rec: RecordedSegment) -> None:
            values = self._measured(rec)

            def count(session: Session) -> bool:
                """Count the segment into the stream's health, if this worker still holds the
                stream: the fence too (the update locks the row until the store commits, so
                the lease cannot pass meanwhile), one round trip for both. It renews the
                lease as well: a store can wait long on the audit chain's lock holding this
                row, and the poll's renewal waits behind it; without this the lease could
                run out meanwhile and another worker claim the stream (seen at 160 cameras
                on a loaded node)."""
                return repository.count_segment(
                    session,
                    self.worker,
                    w.row_id,
                    lease_until=utcnow() + self.lease,
                    **values,
                )

            stored = self.store_queue.store(w.camera_id, rec, stream=stream, fence=count)
            if stored is None:  # dropped (lease lost, stored already): health is told apart
                with self.ctx.transaction() as session:
                    count(session)

        def on_status(st: StreamStatus) -> None:
            if st.state == health.STOPPED:
                return  # the release says what the stream became
            with self.ctx.transaction() as session:
                repository.report(
                    session,
                    self.worker,
                    w.row_id,
                    state=st.state,
                    state_since=st.since,
                    down_since=st.down_since,
                    error=st.error,
                    detail=(st.detail or "")[:500] or None,
                )

        recorder = CameraRecorder(
            url,
            out,
            settings.segment_seconds,
            name=name,
            on_segment=on_segment,
            on_status=on_status,
            prefix=name,
        )
        with self._lock:
            self.running[w.row_id] = _Running(w, recorder)
        log.info("camera %s %s: recording %s", w.camera_id, w.stream, redact_url(url))
        recorder.start()

    @staticmethod
    def _measured(rec: RecordedSegment) -> dict[str, object]:
        """What a segment tells the stream's health."""
        st = rec.stats
        values: dict[str, object] = {"last_segment_end": rec.end_utc}
        if st is not None:
            values.update(
                codec=st.codec[:32],
                width=st.width,
                height=st.height,
                fps=round(st.fps, 3),
                declared_fps=st.declared_fps,
                bitrate_bps=st.bitrate_bps,
                lag_s=round(st.lag_s, 3),
            )
        return values

    def _refuse(self, w: Wanted, why: str) -> None:
        log.warning("camera %s %s: %s", w.camera_id, w.stream, why)
        self.refused[w.row_id] = w.url_encrypted
        with self._tx() as session:
            repository.report(session, self.worker, w.row_id, error="refused", detail=why)
            repository.release(session, self.worker, w.row_id, REFUSED)

    def _begin_stop(self, run: _Running, state: str) -> threading.Thread:
        """Stop a recorder in the background (it stores its open segment first, under its
        lease, which is renewed meanwhile), then release the stream."""
        row_id = run.want.row_id
        self.stopping[row_id] = run

        def finish() -> None:
            try:
                run.recorder.stop(timeout=60)
            finally:
                with self._lock:
                    self.stopping.pop(row_id, None)
                self._release(row_id, state)

        t = threading.Thread(target=finish, name=f"stop-{run.recorder.name}", daemon=True)
        self._stoppers = [s for s in self._stoppers if s.is_alive()] + [t]
        t.start()
        return t

    def _release(self, row_id: int, state: str) -> None:
        try:
            with self._tx() as session:
                repository.release(session, self.worker, row_id, state)
        except Exception:  # the lease runs out by itself
            log.exception("releasing camera stream %s failed", row_id)

    # -- what a test or the benchmark looks at -----------------------------------------------
    def status(self) -> dict[int, str | None]:
        with self._lock:
            return {
                r: (run.recorder.status.state if run.recorder.status else None)
                for r, run in self.running.items()
            }
