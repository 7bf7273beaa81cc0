"""The one exception type that ``ingest`` raises for bad input.

Callers (the HTTP layer, the NVR importer, the recorder's owner) need a stable,
machine-readable reason to put in a 4xx body or a job's failure column, and a human
sentence to show next to it.  ``IngestError.code`` is that reason; the codes below are
the complete vocabulary, so ``app`` can map them without string-matching messages.
"""

from __future__ import annotations

from typing import Final

#: The file has no bytes at all.
EMPTY_FILE: Final = "empty_file"
#: The bytes are not a video container FFmpeg can read (text, random data, ...), or they are
#: a still image (JPEG, PNG) or a text rendering that FFmpeg would happily call "video".
NOT_VIDEO: Final = "not_video"
#: The container opens but holds no video stream (audio-only recordings, subtitles).
NO_VIDEO_STREAM: Final = "no_video_stream"
#: The file was cut short: the MP4 index (moov) is missing, a box runs past the end of the
#: file, or the demuxed packets stop well before the declared duration.
TRUNCATED_VIDEO: Final = "truncated_video"
#: The container and packets look complete but the video data does not decode.
CORRUPT_VIDEO: Final = "corrupt_video"
#: A stream or upload passed the caller's byte limit.
TOO_LARGE: Final = "too_large"
#: An upload ended before the number of bytes it announced (client disconnected).
INCOMPLETE_UPLOAD: Final = "incomplete_upload"
#: No start time could be found (file name pattern did not match, no usable metadata).
NO_START_TIME: Final = "no_start_time"
#: A start time was found but is before 2000 or in the future.
START_TIME_OUT_OF_RANGE: Final = "start_time_out_of_range"
#: A file name pattern or time zone given by the caller is not usable.
BAD_PATTERN: Final = "bad_pattern"
#: A live source could not be opened or read.
STREAM_UNREACHABLE: Final = "stream_unreachable"

ALL_CODES: Final = frozenset(
    {
        EMPTY_FILE,
        NOT_VIDEO,
        NO_VIDEO_STREAM,
        TRUNCATED_VIDEO,
        CORRUPT_VIDEO,
        TOO_LARGE,
        INCOMPLETE_UPLOAD,
        NO_START_TIME,
        START_TIME_OUT_OF_RANGE,
        BAD_PATTERN,
        STREAM_UNREACHABLE,
    }
)


class IngestError(Exception):
    """Bad input, with a machine-readable ``code`` and a human ``detail``."""

    def __init__(self, code: str, detail: str = "") -> None:
        self.code = code
        self.detail = detail or code.replace("_", " ")
        super().__init__(f"{code}: {self.detail}")

    def __repr__(self) -> str:
        return f"IngestError({self.code!r}, {self.detail!r})"
