"""A transcript as subtitles (SRT or WebVTT), for ``assistant transcribe`` and
``POST /v1/audio/transcriptions`` alike: one cue per Whisper segment."""

from __future__ import annotations

from assistant.core.types import Transcript

FORMATS = ("srt", "vtt")


def timestamp(seconds: float, fmt: str) -> str:
    """``HH:MM:SS,mmm`` (SRT) or ``HH:MM:SS.mmm`` (WebVTT), rounded to the millisecond."""
    ms = int(round(max(0.0, seconds) * 1000))
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{',' if fmt == 'srt' else '.'}{ms:03d}"


def subtitles(transcript: Transcript, fmt: str) -> str:
    """The whole file: numbered cues for SRT, a ``WEBVTT`` header then cues for WebVTT."""
    if fmt not in FORMATS:
        raise ValueError(f"subtitle format {fmt!r} is not one of {', '.join(FORMATS)}")
    blocks = ["WEBVTT\n"] if fmt == "vtt" else []
    for i, seg in enumerate(transcript.segments or (), 1):
        cue = f"{timestamp(seg.start, fmt)} --> {timestamp(seg.end, fmt)}\n{seg.text.strip()}\n"
        blocks.append(f"{i}\n{cue}" if fmt == "srt" else cue)
    return "\n".join(blocks)
