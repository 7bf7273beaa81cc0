"""Recording from a real RTSP server (gst-rtsp-server on loopback, see tests/servers/rtsp.py):
Basic, Digest and RTSPS credentials, wall-clock times, auth refusals, a server that goes away
and comes back."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from ingest import health
from ingest.recorder import CameraRecorder, RecordedSegment, StreamStatus, record
from tests.ingest.checks import assert_contiguous, check_segment
from tests.ingest.media import CLIP
from tests.servers.rtsp import RtspServer

GOP = 128 / 30  # the intersection clip has a keyframe every 128 frames at 30 fps


def secrets_of(srv: RtspServer) -> list[str]:
    return [srv.password, quote(srv.password, safe=""), "p@ss"]


def test_three_cameras_basic_digest_rtsps(
    rtsp_server: RtspServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Three cameras recorded at once, one thread each: segments of the right length, times
    on the wall clock (never ahead of it), measurements that match the footage."""
    caplog.set_level("DEBUG")
    cams = {
        "basic": (rtsp_server.url("basic", "/cam1"), CLIP["intersection"]),
        "digest": (rtsp_server.url("digest", "/moto"), CLIP["motorcycles"]),
        "rtsps": (rtsp_server.url("rtsps", "/cam1"), CLIP["intersection"]),
    }
    handed: dict[str, list[tuple[RecordedSegment, datetime]]] = {k: [] for k in cams}
    statuses: dict[str, list[StreamStatus]] = {k: [] for k in cams}
    before = datetime.now(UTC)
    recs = [
        CameraRecorder(
            url,
            tmp_path / name,
            4,
            name=name,
            on_segment=lambda s, n=name: handed[n].append((s, datetime.now(UTC))),
            on_status=statuses[name].append,
            max_segments=2,
            timeout_s=(10, 10),
        ).start()
        for name, (url, _clip) in cams.items()
    ]
    for r in recs:
        r.join(40)
    assert not any(r.alive for r in recs)
    for r in recs:
        name = r.name
        clip = cams[name][1]
        assert r.error is None and r.summary is not None
        assert r.summary.connections == 1 and r.summary.failed_attempts == 0
        assert [(s.state, s.error) for s in statuses[name]] == [
            (health.CONNECTING, None),
            (health.RECORDING, None),
            (health.STOPPED, None),
        ]
        segs = [s for s, _ in handed[name]]
        assert len(segs) == 2 and not any(s.truncated for s in segs)
        if clip is CLIP["intersection"]:
            # the stream starts at the file's first keyframe: every segment is one GOP
            assert [s.duration_s for s in segs] == pytest.approx([GOP, GOP], abs=1e-6)
        else:
            assert all(4 <= s.duration_s <= 4 + 5.4 for s in segs)
        # Wall clock: the first frame was sent right after we connected, and no segment
        # was stamped later than the moment it was handed over.  (A server playing a file
        # with B-frames sends a frame up to its reordering delay, 2 frames here, before its
        # presentation time, hence the 0.1 s.)
        assert before - timedelta(seconds=0.1) <= segs[0].start_utc < before + timedelta(seconds=2)
        for s, at in handed[name]:
            st = s.stats
            assert st is not None
            # The lag the recorder reports is the real one: handed over `lag_s` after its
            # end, give or take the hand-over itself.  How large it is depends on the machine
            # (a CI run under load once delivered 6 s late, then honestly reported), so the
            # bound is that no stall reaches a whole segment: that would be a recorder fault.
            lag = timedelta(seconds=st.lag_s)
            assert s.end_utc + lag <= at + timedelta(milliseconds=1)
            assert at <= s.end_utc + lag + timedelta(seconds=0.5)
            assert 0 <= st.lag_s < GOP
            assert st.declared_fps == pytest.approx(clip.fps) and st.fps == pytest.approx(30)
            assert st.gaps == 0 and st.corrupt_packets == 0 and st.rejected_packets == 0
            assert st.max_frame_interval_s == pytest.approx(1 / 30, abs=1e-3)
            assert st.keyframes >= 1
            # the footage's own average rate, within what one GOP can vary
            file_bps = clip.size * 8 / clip.duration_s
            assert 0.4 * file_bps < st.bitrate_bps < 1.6 * file_bps
        assert segs[0].stats is not None and segs[0].stats.gap_before_s is None
        assert segs[1].stats is not None and segs[1].stats.gap_before_s == 0
        assert all(s.has_audio == (name == "digest") for s in segs)
        if name == "digest":
            assert segs[0].stats is not None and segs[0].stats.audio_codec == "aac"
        assert_contiguous(segs)
        for s in segs:
            check_segment(s, size=(clip.width, clip.height))
    for secret in secrets_of(rtsp_server):
        assert secret not in caplog.text
        assert secret not in repr(statuses) + repr(handed)


@pytest.mark.parametrize("listener", ["basic", "digest", "rtsps"])
@pytest.mark.parametrize("creds", ["wrong password", "no credentials"])
def test_refused_credentials_are_an_auth_state(
    rtsp_server: RtspServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    listener: str,
    creds: str,
) -> None:
    """A wrong password (or none) is 'auth_failed', retried only every ``auth_retry_s``."""
    caplog.set_level("DEBUG")
    if creds == "wrong password":
        url = rtsp_server.url(listener, "/cam1", password="Wr0ng:p@ss")
    else:
        url = rtsp_server.url(listener, "/cam1", user=None)
    statuses: list[StreamStatus] = []
    stop = threading.Event()
    timer = threading.Timer(1.5, stop.set)
    timer.start()
    try:
        summary = record(
            url,
            tmp_path,
            4,
            on_segment=lambda s: pytest.fail("no segment expected"),
            on_status=statuses.append,
            stop=stop,
            auth_retry_s=0.5,
            reconnect_backoff=(0.01,),
        )
    finally:
        timer.cancel()
    assert summary.segments == 0 and summary.connections == 0
    assert 2 <= summary.auth_failures == summary.failed_attempts <= 4  # not 0.01 s apart
    assert [(s.state, s.error) for s in statuses] == [
        (health.CONNECTING, None),
        (health.AUTH_FAILED, "auth_failed"),
        (health.STOPPED, None),
    ]
    refused = statuses[1]
    assert refused.detail is not None and "401" in refused.detail
    assert refused.retry_in_s == 0.5 and refused.down_since == statuses[0].since
    assert list(tmp_path.iterdir()) == []
    for secret in ["Wr0ng", quote("Wr0ng:p@ss", safe=""), *secrets_of(rtsp_server)]:
        assert secret not in caplog.text and secret not in repr(statuses)


def test_unknown_path_is_not_found(rtsp_server: RtspServer, tmp_path: Path) -> None:
    statuses: list[StreamStatus] = []
    stop = threading.Event()
    threading.Timer(0.6, stop.set).start()
    record(
        rtsp_server.url("digest", "/no/such/camera"),
        tmp_path,
        4,
        on_segment=lambda s: None,
        on_status=statuses.append,
        stop=stop,
        reconnect_backoff=(0.1,),
    )
    assert [(s.state, s.error) for s in statuses][1] == (health.RECONNECTING, "not_found")
    assert statuses[1].detail is not None and "404" in statuses[1].detail


@pytest.mark.slow
def test_server_gone_then_back(own_rtsp_server: RtspServer, tmp_path: Path) -> None:
    """The camera's server dies mid-segment: the open segment is kept (truncated), the state
    goes reconnecting -> offline (since the drop), and recording resumes when it is back."""
    srv = own_rtsp_server
    segs: list[RecordedSegment] = []
    statuses: list[StreamStatus] = []
    events: dict[str, threading.Event] = {
        "first": threading.Event(),
        "offline": threading.Event(),
        "again": threading.Event(),
    }

    def on_segment(s: RecordedSegment) -> None:
        segs.append(s)
        if len(segs) == 1:
            events["first"].set()
        if s.connection == 1 and not s.truncated:
            stop.set()

    def on_status(s: StreamStatus) -> None:
        statuses.append(s)
        if s.state == health.OFFLINE:
            events["offline"].set()

    rec = CameraRecorder(
        srv.url("digest", "/cam1"),
        tmp_path,
        3,
        on_segment=on_segment,
        on_status=on_status,
        reconnect_backoff=(0.2, 0.4),
        offline_after_s=1.0,
        timeout_s=(5, 3),
    )
    stop = rec.stop_event
    rec.start()
    try:
        assert events["first"].wait(15), "no first segment"
        time.sleep(1.0)  # into the second segment
        killed_at = datetime.now(UTC)
        srv.stop()
        assert events["offline"].wait(10), f"never offline: {statuses}"
        srv.start()  # same port
        rec.join(30)
    finally:
        stop.set()
        rec.join(10)
    assert rec.error is None
    states = [(s.state, s.error) for s in statuses]
    assert states[:2] == [(health.CONNECTING, None), (health.RECORDING, None)]
    down = statuses[2]
    assert down.state == health.RECONNECTING and down.error in {"eof", "dropped"}
    assert killed_at <= down.down_since <= killed_at + timedelta(seconds=2)  # type: ignore[operator]
    offline = next(s for s in statuses if s.state == health.OFFLINE)
    assert offline.error == "refused" and offline.down_since == down.down_since
    assert offline.since - down.since >= timedelta(seconds=1)
    assert statuses[-2].state == health.RECORDING and statuses[-1].state == health.STOPPED
    assert statuses[-2].connection == 1
    first = [s for s in segs if s.connection == 0]
    second = [s for s in segs if s.connection == 1]
    assert first[-1].truncated and first[-1].reason is not None
    assert first[-1].end_utc <= killed_at + timedelta(seconds=0.5)
    assert second and not second[0].truncated
    gap = second[0].stats.gap_before_s if second[0].stats else None
    assert gap is not None and gap >= 1.0  # the outage, as a gap in the record
    assert second[0].start_utc - first[-1].end_utc == timedelta(seconds=gap)
    for s in segs:
        check_segment(s, size=(640, 480))


@pytest.mark.slow
def test_stalled_rtsp_server_times_out(own_rtsp_server: RtspServer, tmp_path: Path) -> None:
    """The server freezes (SIGSTOP: the TCP connection stays open, no byte comes): FFmpeg's
    own socket timeout ends the open segment as truncated ("timeout") within about the read
    timeout, with no PyAV read timeout (whose callback takes the GIL on every socket read)."""
    import os
    import signal

    srv = own_rtsp_server
    segs: list[RecordedSegment] = []
    statuses: list[StreamStatus] = []
    first = threading.Event()

    def on_segment(s: RecordedSegment) -> None:
        segs.append(s)
        first.set()

    rec = CameraRecorder(
        srv.url("digest", "/cam1"),
        tmp_path,
        3,
        on_segment=on_segment,
        on_status=statuses.append,
        reconnect_backoff=(30,),
        timeout_s=(5, 2),
    )
    rec.start()
    try:
        assert first.wait(20), "no first segment"
        time.sleep(1.0)  # into the next segment
        pid = srv.pid
        assert pid is not None
        os.kill(pid, signal.SIGSTOP)
        frozen = time.monotonic()
        try:
            deadline = frozen + 15
            while time.monotonic() < deadline and not any(s.truncated for s in segs):
                time.sleep(0.1)
            took = time.monotonic() - frozen
        finally:
            os.kill(pid, signal.SIGCONT)
        # The segment is handed over before the stalled connection is closed and the recorder
        # says it is reconnecting: wait for that before stopping it (stopped first, it goes
        # straight to "stopped", as CI once saw).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(
            s.state == health.RECONNECTING for s in statuses
        ):
            time.sleep(0.1)
    finally:
        rec.stop(10)
    assert rec.error is None
    cut = [s for s in segs if s.truncated]
    assert cut and cut[0].reason == "timeout", [(s.truncated, s.reason) for s in segs]
    assert 1.5 <= took <= 8, took  # the 2 s read timeout, plus what FFmpeg had buffered
    down = next(s for s in statuses if s.state == health.RECONNECTING)
    assert down.error == "timeout"
    check_segment(cut[0], size=(640, 480))
