"""Audio files in and out.

Reading: any format ffmpeg decodes (wav, flac, mp3, ogg/opus, m4a, ...; any rate, any channel
count) becomes float32 mono at the rate the caller asks for, decoded by one ffmpeg process.
Writing: wav directly; mp3, ogg, opus and flac through pydub (ffmpeg).
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np

from assistant.core.errors import AudioFileError, MissingDependencyError
from assistant.core.paths import atomic_output, check_extension, check_input
from assistant.core.types import AudioChunk

OUTPUT_FORMATS = ("wav", "mp3", "ogg", "opus", "flac")


def _ffmpeg() -> str:
    exe = shutil.which("ffmpeg")
    if exe is None:
        raise MissingDependencyError(
            "ffmpeg is not installed; it is needed to read and write audio files",
            "install it with: apt-get install ffmpeg (macOS: brew install ffmpeg)",
        )
    return exe


def load_audio(path: str | Path, sample_rate: int = 16000) -> AudioChunk:
    """Decode ``path`` to float32 mono at ``sample_rate``. Raises AudioFileError with a clear reason."""
    p = check_input(path)
    cmd = [_ffmpeg(), "-nostdin", "-hide_banner", "-v", "error", "-xerror", "-i", str(p),
           "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(sample_rate), "-"]
    proc = subprocess.run(cmd, capture_output=True)
    errors = proc.stderr.decode("utf-8", "replace").strip()
    if proc.returncode != 0 or errors:
        reason = errors.splitlines()[-1] if errors else f"ffmpeg exited with {proc.returncode}"
        # ffmpeg prefixes messages with the path; keep the reason short
        reason = reason.replace(str(p) + ": ", "")
        if "does not contain any stream" in reason or "matches no streams" in reason:
            raise AudioFileError(f"{p} has no audio track (a video without sound, or an image?)",
                                 "choose a file with sound in it")
        raise AudioFileError(
            f"cannot read audio from {p}: it is corrupt, truncated or not audio ({reason})",
            "use a wav, flac, mp3, ogg/opus or m4a file",
        )
    samples = np.frombuffer(proc.stdout, dtype=np.float32).copy()
    check_finite(samples, f"audio from {p}")
    return AudioChunk(samples, sample_rate)


def check_finite(samples: np.ndarray, what: str) -> None:
    """Float files can hold NaN or infinite values (a broken export or effect); no stage can use
    them, and they are not silence. Say so rather than answer garbage or call it silent."""
    bad = ~np.isfinite(samples)
    if bad.any():
        raise AudioFileError(
            f"{what} holds {int(bad.sum())} NaN or infinite sample values (of {len(samples)}): "
            "the file is corrupt", "export the recording again (e.g. as 16-bit wav)")


def _pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def output_format(path: str | Path) -> str:
    return check_extension(path, OUTPUT_FORMATS)


def save_audio(audio: AudioChunk, path: str | Path) -> Path:
    """Write ``audio`` to ``path``; the format follows the extension (wav, mp3, ogg, opus, flac).
    Atomic: the file appears complete or not at all (an old file stays until the new one is whole)."""
    p = Path(path)
    fmt = output_format(p)
    if p.parent and not p.parent.exists():
        raise AudioFileError(f"cannot write {p}: folder {p.parent} does not exist")
    try:
        with atomic_output(p) as tmp:
            _encode(audio, tmp, fmt)
    except AudioFileError:
        raise
    except OSError as e:
        raise AudioFileError(f"cannot write {p}: {e.strerror or e}") from None
    except Exception as e:  # pydub wraps ffmpeg failures in its own exception types
        raise AudioFileError(
            f"cannot encode {p} as {fmt}: {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    return p


def _encode(audio: AudioChunk, p: Path, fmt: str) -> None:
    if fmt == "wav":
        p.write_bytes(wav_bytes(audio))
        return
    _ffmpeg()
    from pydub import AudioSegment

    seg = AudioSegment(_pcm16(audio.samples), sample_width=2, frame_rate=audio.sample_rate, channels=1)
    if fmt == "opus":
        seg.set_frame_rate(48000).export(str(p), format="opus", codec="libopus")
    elif fmt == "ogg":
        seg.export(str(p), format="ogg", codec="libvorbis")
    else:
        seg.export(str(p), format=fmt)


def wav_bytes(audio: AudioChunk) -> bytes:
    """``audio`` as a 16-bit mono WAV file in memory (what HTTP APIs take as an upload)."""
    import io

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.sample_rate)
        w.writeframes(_pcm16(audio.samples))
    return buffer.getvalue()


# Data from elsewhere (an upload, a remote server's reply) is decoded with the format pinned to one
# of these real audio containers, sniffed from its first bytes here, never probed by ffmpeg: probing
# would accept an HLS playlist or a concat list, which name other files and URLs for ffmpeg to read.
# Formats ffmpeg reads as a stream come through a pipe with only the pipe protocol allowed; MP4/M4A
# (whose index may sit at the end) through a private temporary file with only the file protocol
# allowed and the container's external data references off.
UNTRUSTED_FORMATS = "wav, flac, mp3, ogg (vorbis/opus), m4a/mp4, webm/mkv, aac (adts), aiff, caf"


def sniff_format(data: bytes) -> str | None:
    """The ffmpeg demuxer for ``data`` by its magic bytes, among real audio containers only."""
    head = data[:16]
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "mov"
    if head[:4] == b"\x1aE\xdf\xa3":
        return "matroska"
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return "aiff"
    if head[:4] == b"caff":
        return "caf"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "aac" if head[1] & 0x06 == 0 else "mp3"  # ADTS has layer bits 00
    return None


def decode_bytes(data: bytes, sample_rate: int, what: str = "audio", max_seconds: float | None = None,
                 timeout_s: float = 120.0) -> AudioChunk:
    """Decode an encoded file held in memory that came from someone else (an upload, a server's
    reply) to float32 mono at ``sample_rate``: the format is pinned to a real audio container
    sniffed from the bytes (anything else is refused), ffmpeg may read nothing but this data, and
    it stops decoding after ``max_seconds`` (longer audio is refused, not truncated) or
    ``timeout_s`` of work. ``what`` names the data in the error messages, which never show a path."""
    import os
    import tempfile

    if not data:
        raise AudioFileError(f"{what} is empty (0 bytes)")
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedAudioError(f"{what} is not audio in a format accepted here",
                                    f"send one of: {UNTRUSTED_FORMATS}")
    out = ["-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(sample_rate)]
    if max_seconds is not None:
        out += ["-t", f"{max_seconds + 1.0 / sample_rate * 2:.6f}"]  # one sample past the limit shows it
    base = [_ffmpeg(), "-nostdin", "-hide_banner", "-v", "error"]
    tmp = None
    try:
        if fmt == "mov":
            fd, tmp = tempfile.mkstemp(prefix="assistant-", suffix=".upload")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            cmd = base + ["-protocol_whitelist", "file", "-enable_drefs", "0", "-f", fmt, "-i", tmp] + out + ["pipe:1"]
            stdin = None
        else:
            cmd = base + ["-protocol_whitelist", "pipe", "-f", fmt, "-i", "pipe:0"] + out + ["pipe:1"]
            stdin = data
        try:
            proc = subprocess.run(cmd, input=stdin, capture_output=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AudioFileError(f"decoding {what} took over {timeout_s:g} s; it was stopped") from None
    finally:
        if tmp is not None:
            os.unlink(tmp)
    samples = np.frombuffer(proc.stdout, dtype=np.float32).copy()
    if proc.returncode != 0 or not len(samples):
        errors = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        reason = errors[-1] if errors else f"ffmpeg exited with {proc.returncode}"
        if tmp is not None:
            reason = reason.replace(tmp, "input")
        raise AudioFileError(f"cannot decode {what}: it is corrupt, truncated or not audio ({reason})")
    if max_seconds is not None and len(samples) > round(max_seconds * sample_rate):
        raise AudioTooLongError(f"{what} is longer than {max_seconds:g} s", "send a shorter recording")
    check_finite(samples, what)
    return AudioChunk(samples, sample_rate)


class UnsupportedAudioError(AudioFileError):
    """Data from elsewhere is not in one of the accepted audio containers."""


class AudioTooLongError(AudioFileError):
    """Data from elsewhere decodes to more audio than allowed."""
