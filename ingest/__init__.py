"""Getting footage in: probing, hashing, NVR folder scans and live stream recording.

A library: it works on files and streams and returns plain dataclasses; it knows nothing
about HTTP, the database or the object store (``app`` wires those).  Modules:

* :mod:`ingest.errors` - ``IngestError(code, detail)`` and the code vocabulary;
* :mod:`ingest.hashing` - copy-while-hashing with a size limit (``spool``);
* :mod:`ingest.probe` - ``probe(path) -> ProbeResult``, rejecting non-video and cut files;
* :mod:`ingest.timeparse` - start times from file names, time zones, range checks;
* :mod:`ingest.nvr` - ``scan(dir, pattern, tz) -> list[NvrFile]``;
* :mod:`ingest.recorder` - ``record(url, out_dir, ...)`` stream-copied MP4 segments, and
  ``CameraRecorder`` (one camera per thread, many in one process);
* :mod:`ingest.health` - ``StreamStatus`` (recording / reconnecting / offline since ...) and
  per-segment ``SegmentStats`` (fps, bitrate, resolution, codec, packets, gaps);
* :mod:`ingest.streams` - source kinds, FFmpeg options, error codes, ``redact_url``;
* :mod:`ingest.vendors` - ``build_rtsp_url(vendor, host, channel, stream, user, password)``.
"""
