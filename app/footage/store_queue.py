"""Group commit for recorded segments: the recorders of one process store their segments
through one thread, several segments to a transaction.

Why: every stored segment appends to the audit chain, whose head is one row locked until the
storing transaction commits. With a transaction per segment, the stores of all recorders of
all workers queued on that lock (about 30 sessions waiting at 160 cameras on 2 cores), each
holder slowed by its process's other threads, until segments were stored half a minute after
their end (issue 13). Here a process's recorders hand their closed segments to one thread,
which stores whatever is waiting (up to `max_batch`) in one transaction and appends their
audit entries together, last, under one lock of the head: each worker process then has at
most one session on that lock, and a burst of segments (recorders cut at about the same
moments) costs one commit instead of one each.

`store` blocks its recorder until its segment is committed (or dropped), as `register` does,
so a recorder that stops has its last segment stored before its stream is released. A
segment that fails in a batch does not take the others with it: each is stored in a
savepoint of its own (`recording.store_in`), and if the transaction fails as a whole each
segment is tried again alone (`recording.register`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlmodel import Session

from app.audit.service import Batch
from app.context import AppContext
from app.footage import recording
from app.footage.models import Segment, SegmentStream
from ingest.probe import ProbeResult
from ingest.recorder import RecordedSegment

log = logging.getLogger(__name__)

MAX_BATCH = 32


@dataclass
class _Item:
    camera_id: int
    rec: RecordedSegment
    info: ProbeResult
    stream: SegmentStream
    fence: recording.Fence | None
    also: Callable[[Session], None] | None
    done: threading.Event = field(default_factory=threading.Event)
    segment: Segment | None = None
    error: BaseException | None = None


class StoreQueue:
    def __init__(self, ctx: AppContext, *, max_batch: int = MAX_BATCH, name: str = "") -> None:
        self.ctx = ctx
        self.max_batch = max(1, max_batch)
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"wardcam-store{'-' + name if name else ''}", daemon=True
        )
        self.batches = 0  # transactions committed, and the segments they held: what a
        self.stored = 0  # test or the benchmark reads to see the grouping at work

    def start(self) -> StoreQueue:
        self._thread.start()
        return self

    def close(self, timeout: float = 60.0) -> None:
        """Store what was handed over already, then stop; a later `store` stores alone."""
        self._closed.set()
        self._queue.put(None)
        self._thread.join(timeout)

    def store(
        self,
        camera_id: int,
        rec: RecordedSegment,
        *,
        stream: SegmentStream = SegmentStream.main,
        fence: recording.Fence | None = None,
        also: Callable[[Session], None] | None = None,
    ) -> Segment | None:
        """`recording.register`'s contract, in a transaction shared with other recorders."""
        if self._closed.is_set() or not self._thread.is_alive():
            return recording.register(
                self.ctx, camera_id, rec, stream=stream, fence=fence, also=also
            )
        info = recording.facts(camera_id, rec)  # probing (rarely needed) in the caller
        if info is None:
            return None
        item = _Item(camera_id, rec, info, stream, fence, also)
        self._queue.put(item)
        while not item.done.wait(1.0):
            if not self._thread.is_alive():  # died (never expected): store it here, once
                return recording.register(
                    self.ctx, camera_id, rec, stream=stream, fence=fence, also=also
                )
        if item.error is not None:
            raise item.error
        return item.segment

    # -- the storing thread --------------------------------------------------------------
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is None:
                stopping = True
                batch: list[_Item] = []
            else:
                batch = [first]
            while len(batch) < self.max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    stopping = True
                else:
                    batch.append(more)
            if batch:
                self._store(batch)

    def _store(self, batch: list[_Item]) -> None:
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
                        also=it.also,
                    )
                audit.write(session)  # last: nothing may follow the head's lock
            self.batches += 1
            self.stored += sum(it.segment is not None for it in batch)
            for it in batch:
                it.rec.path.unlink(missing_ok=True)
                it.done.set()
        except Exception:
            if len(batch) > 1:
                log.exception("storing %d segments together failed; storing each alone", len(batch))
            for it in batch:
                self._alone(it)

    def _alone(self, it: _Item) -> None:
        try:
            it.segment = recording.register(
                self.ctx, it.camera_id, it.rec, stream=it.stream, fence=it.fence, also=it.also
            )
        except BaseException as exc:  # the recorder's own thread raises it
            it.segment, it.error = None, exc
        finally:
            it.done.set()
