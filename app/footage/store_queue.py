"""Group commit for recorded segments: the recorders of one process store their segments
through one thread, several segments to a transaction.

Why: every stored segment appends to the audit chain, whose head is one row locked until the
storing transaction commits. With a transaction per segment, the stores of all recorders of
all workers queued on that lock (about 30 sessions waiting at 160 cameras on 2 cores), each
holder slowed by its process's other threads, until segments were stored half a minute after
their end (issue 13). Here a process's recorders hand their closed segments to a storing
thread (`WARDCAM_RECORD_STORE_THREADS`, 1 by default; SQLite: always 1, it writes one
transaction at a time anyway), which stores whatever is waiting (up to `max_batch`) in one
transaction and appends their audit entries together, last, under one lock of the head: a
worker process then has one session on that lock, and a burst of segments (recorders cut at
about the same moments) costs one commit instead of one each. (Four threads a process
measured slower on 2 cores: sixteen sessions queued on the head again, each holder a thread
waiting for a CPU.)

`store` blocks its recorder until its segment is committed (or dropped), as `register` does,
so a recorder that stops has its last segment stored before its stream is released. A
segment that fails in a batch does not take the others with it: a fence that refuses one
changes nothing, and if the transaction fails (a segment stored already, the database gone
for a moment) each segment is tried again alone (`recording.register`, in a savepoint that
drops only a conflicting one). No savepoint per segment in a batch: on a busy node each
statement waits for a CPU, and savepoints were two of a segment's nine.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from app.audit.service import Batch
from app.context import AppContext
from app.footage import recording
from app.footage.models import Segment, SegmentStream
from ingest.probe import ProbeResult
from ingest.recorder import RecordedSegment

log = logging.getLogger(__name__)

MAX_BATCH = 32
REPORT_S = 60.0  # how often the storing thread logs what it did (one line)


@dataclass
class _Item:
    camera_id: int
    rec: RecordedSegment
    info: ProbeResult
    stream: SegmentStream
    fence: recording.Fence | None
    done: threading.Event = field(default_factory=threading.Event)
    segment: Segment | None = None
    error: BaseException | None = None


@dataclass
class _Window:
    """What the storing thread did lately, logged once a `REPORT_S`: how a node that falls
    behind shows where (a thread busy all the time is the store, not the recorders)."""

    segments: int = 0
    batches: int = 0
    busy_s: float = 0.0
    longest_s: float = 0.0
    since: float = field(default_factory=time.monotonic)

    def add(self, segments: int, seconds: float) -> None:
        self.segments += segments
        self.batches += 1
        self.busy_s += seconds
        self.longest_s = max(self.longest_s, seconds)

    def due(self) -> bool:
        return time.monotonic() - self.since >= REPORT_S

    def report(self, name: str) -> None:
        span = time.monotonic() - self.since
        if self.batches:
            log.info(
                "%s: %d segments in %d transactions over %.0f s (%.1f a transaction), "
                "busy %.0f%%, longest %.2f s",
                name,
                self.segments,
                self.batches,
                span,
                self.segments / self.batches,
                100 * self.busy_s / max(span, 1e-9),
                self.longest_s,
            )


class StoreQueue:
    def __init__(
        self,
        ctx: AppContext,
        *,
        threads: int | None = None,
        max_batch: int = MAX_BATCH,
        name: str = "",
    ) -> None:
        self.ctx = ctx
        self.max_batch = max(1, max_batch)
        if threads is None:
            threads = ctx.settings.record_store_threads
        if ctx.settings.is_sqlite:  # one writer at a time whatever the threads
            threads = 1
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._run,
                name=f"wardcam-store{i}{'-' + name if name else ''}",
                daemon=True,
            )
            for i in range(max(1, threads))
        ]
        self._count = threading.Lock()
        self.batches = 0  # transactions committed, and the segments they held: what a
        self.stored = 0  # test reads to see the grouping at work

    def start(self) -> StoreQueue:
        for t in self._threads:
            t.start()
        return self

    def close(self, timeout: float = 60.0) -> None:
        """Store what was handed over already, then stop; a later `store` stores alone."""
        self._closed.set()
        for _ in self._threads:
            self._queue.put(None)  # after every segment handed over: each thread's last
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))

    def _alive(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    def store(
        self,
        camera_id: int,
        rec: RecordedSegment,
        *,
        stream: SegmentStream = SegmentStream.main,
        fence: recording.Fence | None = None,
    ) -> Segment | None:
        """`recording.register`'s contract, in a transaction shared with other recorders."""
        if self._closed.is_set() or not self._alive():
            return recording.register(self.ctx, camera_id, rec, stream=stream, fence=fence)
        info = recording.facts(camera_id, rec)  # probing (rarely needed) in the caller
        if info is None:
            return None
        item = _Item(camera_id, rec, info, stream, fence)
        self._queue.put(item)
        while not item.done.wait(1.0):
            if not self._alive():  # died (never expected): store it here, once
                return recording.register(self.ctx, camera_id, rec, stream=stream, fence=fence)
        if item.error is not None:
            raise item.error
        return item.segment

    # -- the storing thread --------------------------------------------------------------
    def _run(self) -> None:
        window = _Window()
        stopping = False
        while not stopping:
            first = self._queue.get()
            batch = [] if first is None else [first]
            stopping = first is None
            while not stopping and len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:  # one stop mark per thread: take no other's
                    stopping = True
                else:
                    batch.append(more)
            if batch:
                t0 = time.monotonic()
                self._store(batch)
                window.add(len(batch), time.monotonic() - t0)
            if stopping or window.due():
                window.report(threading.current_thread().name)
                window = _Window()

    def _store(self, batch: list[_Item]) -> None:
        # The fences lock their stream rows until the commit: in the order the lease renewal
        # locks them too (`app.fleet.repository.LOCK_ORDER`), or the two deadlock.
        batch = sorted(batch, key=lambda it: (it.camera_id, it.stream.value))
        try:
            with self.ctx.transaction() as session:
                audit = Batch()
                for it in batch:
                    it.segment = recording.store_in(
                        session,
                        self.ctx,
                        it.camera_id,
                        it.rec,
                        it.info,
                        audit,
                        stream=it.stream,
                        fence=it.fence,
                        savepoint=False,  # a conflict (rare) spoils the batch: see below
                    )
                audit.write(session)  # last: nothing may follow the head's lock
            with self._count:
                self.batches += 1
                self.stored += sum(it.segment is not None for it in batch)
            for it in batch:
                it.rec.path.unlink(missing_ok=True)
                it.done.set()
        except IntegrityError:  # one was stored already (a take-over's race): find which
            log.warning("a segment of %d was stored already; storing each alone", len(batch))
            for it in batch:
                self._alone(it)
        except Exception:
            log.exception("storing %d segments together failed; storing each alone", len(batch))
            for it in batch:
                self._alone(it)

    def _alone(self, it: _Item) -> None:
        try:
            it.segment = recording.register(
                self.ctx, it.camera_id, it.rec, stream=it.stream, fence=it.fence
            )
        except BaseException as exc:  # the recorder's own thread raises it
            it.segment, it.error = None, exc
        finally:
            it.done.set()
