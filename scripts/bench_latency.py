"""Live-loop latency benchmark (issue: live voice loop). Medians over N turns; table + JSON.

    python scripts/bench_latency.py [--turns 20] [--json latency.json]

1. overhead   end of speech → first reply audio handed to the speaker, with instant fake
              STT/LLM/TTS: what the orchestration itself costs (target ≤ 20 ms median).
2. streaming  fake LLM at 30 tokens/s over four sentences, fake TTS at 0.2× real time: first
              audio against "first sentence ready + its synthesis" and against the whole reply.
3. vad        cost of one 32 ms chunk for each VAD, one thread (target ≤ 1 ms median).
4. barge-in   recorded speech fed in real time while the assistant talks: speech onset →
              playback stopped, through the real endpointer and Silero (target ≤ 150 ms median).

5. speaker    (--speaker: scripts/bench_speaker.py, its own options after it) the whole turn as
              the user hears it: recorded questions into a virtual PulseAudio microphone, real
              models, last speech sample → first reply sound at the virtual speaker, p50/p95.

Fake stages stand in for models in 1-4 on purpose: this measures the pipeline, not the models
(`assistant bench` measures those). Run on a quiet machine; numbers are wall-clock medians.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from assistant.audio.endpointing import Endpointer  # noqa: E402
from assistant.audio.io import load_audio  # noqa: E402
from assistant.audio.vad import FRAME, make_vad  # noqa: E402
from assistant.config import load_config  # noqa: E402
from assistant.core.types import AudioChunk, Transcript, Utterance  # noqa: E402
from assistant.modes.file import Assistant  # noqa: E402
from assistant.modes.live.captions import Captions  # noqa: E402
from assistant.modes.live.loop import ChatLoop  # noqa: E402
from assistant.tts.voices import VoiceRouter  # noqa: E402

SHARED = ROOT.parent / "shared" / "audio"


# ---------------------------------------------------------------- stand-in stages

class InstantSTT:
    sample_rate = 16000

    def load(self):
        pass

    def detect_language(self, audio):
        return {"en": 0.99, "de": 0.01}

    def transcribe(self, audio, *, language=None, initial_prompt=None):
        return Transcript("What time is it?", language or "en", 0.99, 0.01, -0.1, duration=audio.duration)


class PacedLLM:
    def __init__(self, reply: str, tokens_per_s: float | None) -> None:
        self.words = reply.split(" ")
        self.delay = 1.0 / tokens_per_s if tokens_per_s else 0.0
        self.first_sentence_at: float | None = None

    def load(self):
        pass

    def count_tokens(self, text):
        return len(text.split())

    def stream(self, messages):
        for w in self.words:
            if self.delay:
                time.sleep(self.delay)
            if self.first_sentence_at is None and w.endswith("."):
                self.first_sentence_at = time.monotonic()
            yield w + " "


class PacedTTS:
    """Audio of 60 ms per character (≈ speech), costing ``rtf`` × its duration to make."""

    def __init__(self, rtf: float) -> None:
        self.rtf = rtf

    def load(self):
        pass

    def supports(self, language):
        return True

    def synthesize(self, text, language):
        seconds = 0.06 * len(text)
        if self.rtf:
            time.sleep(seconds * self.rtf)
        yield AudioChunk(np.full(int(22050 * seconds), 0.1, np.float32), 22050)


class QueueSource:
    def __init__(self) -> None:
        import queue

        self.q = queue.Queue()

    def read(self, timeout=None):
        import queue

        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def drain(self):
        return 0


class PassThrough:
    def feed(self, block):
        return [block] if not isinstance(block, np.ndarray) else []

    def reset(self):
        pass


class ClockSink:
    """Speaker stand-in that timestamps what it is given; with ``realtime`` it also takes as long
    to play it as a speaker would (for barge-in), else playback is instant (for overhead)."""

    def __init__(self, realtime: bool = False) -> None:
        self.realtime = realtime
        self.plays: list[float] = []
        self.until = 0.0
        self.stops: list[float] = []
        self.lock = threading.Lock()
        self.played = 0.0

    def play(self, chunk):
        now = time.monotonic()
        with self.lock:
            self.plays.append(now)
            if self.realtime:
                self.until = max(self.until, now) + chunk.duration

    def stop(self):
        with self.lock:
            self.stops.append(time.monotonic())
            self.until = time.monotonic()
        return 0.0

    def played_seconds(self):
        return 0.0

    @property
    def is_playing(self):
        return time.monotonic() < self.until

    def wait_done(self, timeout=None):
        time.sleep(min(timeout or 0.0, max(0.0, self.until - time.monotonic())))
        return not self.is_playing


REPLY = ("It is a quarter past ten in the morning. The sun is out and the air is warm. "
         "You have two meetings later today. The first one starts at noon.")


def _loop(llm, tts, endpointer=None, source=None, cues=False, realtime=False):
    cfg = load_config(None, ["log.path=null", "language.check_reply=false", f"audio.cues={str(cues).lower()}"])
    bot = Assistant(cfg, InstantSTT(), llm, VoiceRouter(cfg.tts, factory=lambda o: tts))
    sink = ClockSink(realtime)
    loop = ChatLoop(bot, source or QueueSource(), sink, endpointer or PassThrough(),
                    Captions(io.StringIO(), force_plain=True), cfg.audio)
    thread = threading.Thread(target=loop.run, kwargs={"greet": False}, daemon=True)
    thread.start()
    return loop, sink, thread


def _speech(seconds: float = 1.0) -> AudioChunk:
    return AudioChunk((0.1 * np.sin(np.arange(int(16000 * seconds)) / 4)).astype(np.float32), 16000)


def _wait(cond, timeout=30.0):
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        time.sleep(0.0005)


# ---------------------------------------------------------------- 1 + 2

def bench_turns(turns: int, tokens_per_s: float | None, rtf: float) -> dict:
    llm, tts = PacedLLM(REPLY, tokens_per_s), PacedTTS(rtf)
    loop, sink, thread = _loop(llm, tts)
    first_audio, first_sentence_plus_synth, whole_reply = [], [], []
    for _ in range(turns):
        llm.first_sentence_at = None
        n_before = len(loop.turns)
        plays_before = len(sink.plays)
        ended = time.monotonic()
        t_reply_start = ended
        loop.source.q.put(Utterance(_speech(), source="bench", speech_ratio=1.0, ended_at=ended))
        _wait(lambda n_before=n_before: len(loop.turns) > n_before)
        first_play = sink.plays[plays_before]
        first_audio.append((first_play - ended) * 1000)
        turn = loop.turns[-1]
        if llm.first_sentence_at is not None:
            synth = 0.06 * len("It is a quarter past ten in the morning.") * rtf
            first_sentence_plus_synth.append((llm.first_sentence_at - t_reply_start + synth) * 1000)
        whole_reply.append(turn.timings_ms.get("llm", 0.0))
        sink.stop()
    loop.stop()
    thread.join(timeout=2)
    out = {"first_audio_ms": _stats(first_audio)}
    if first_sentence_plus_synth:
        out["first_sentence_ready_plus_synthesis_ms"] = _stats(first_sentence_plus_synth)
        out["whole_reply_generation_ms"] = _stats(whole_reply)
    return out


# ---------------------------------------------------------------- 3

def bench_vad(frames: int = 2000) -> dict:
    import torch

    torch.set_num_threads(1)
    audio = load_audio(SHARED / "jfk.flac", 16000).samples if (SHARED / "jfk.flac").exists() else _speech(11).samples
    chunks = [audio[i:i + FRAME] for i in range(0, len(audio) - FRAME, FRAME)]
    out = {}
    for name in ("silero", "energy"):
        vad = make_vad(name)
        for c in chunks[:20]:
            vad.speech_probability(c)  # warm-up
        times = []
        for i in range(frames):
            c = chunks[i % len(chunks)]
            t0 = time.perf_counter()
            vad.speech_probability(c)
            times.append((time.perf_counter() - t0) * 1000)
        out[name] = _stats(times)
    return out


# ---------------------------------------------------------------- 4

def bench_barge_in(turns: int) -> dict:
    clips = sorted((SHARED / "fleurs").glob("fleurs-*.ogg"))[:turns] if (SHARED / "fleurs").exists() else []
    if not clips:
        return {"skipped": "../shared/audio/fleurs is not present"}
    vad = make_vad("silero")
    endpointer = Endpointer(vad)
    source = QueueSource()

    class Feed:  # real endpointer on the samples; other events pass through
        def feed(self, block):
            return endpointer.feed(block) if isinstance(block, np.ndarray) else [block]

        def reset(self):
            endpointer.reset()

    long_reply = " ".join([REPLY] * 6)
    loop, sink, thread = _loop(PacedLLM(long_reply, None), PacedTTS(0.0), endpointer=Feed(), source=source,
                               realtime=True)
    latencies = []
    block = 512
    for i in range(min(turns, len(clips)) * 2):
        clip = load_audio(clips[i % len(clips)], 16000).samples
        # the assistant is talking (a reply is playing) when the user starts
        n = len(loop.turns)
        source.q.put(Utterance(_speech(), source="bench", speech_ratio=1.0, ended_at=time.monotonic()))
        _wait(lambda: sink.is_playing)
        before = len(loop.barge_in_latencies)
        stream = np.concatenate([np.zeros(8000, np.float32), clip])
        t0 = time.monotonic()
        for j in range(0, len(stream), block):  # in real time, as a microphone delivers it
            source.q.put(stream[j:j + block].copy())
            _wait(lambda t0=t0, j=j: time.monotonic() >= t0 + (j + block) / 16000, timeout=1)
            if len(loop.barge_in_latencies) > before:
                break
        if len(loop.barge_in_latencies) > before:
            latencies.append(loop.barge_in_latencies[-1] * 1000)
        else:  # the detector heard no speech in this clip: end the reply and go on
            loop._cancel_active("no onset")  # noqa: SLF001
        _wait(lambda n=n: len(loop.turns) > n)
        # let the clip's own turn (if any) finish, then reset the detector for the next round
        time.sleep(0.3)
        endpointer.reset()
        if len(latencies) >= turns:
            break
    loop.stop()
    thread.join(timeout=2)
    return {"onset_to_stopped_ms": _stats(latencies),
            "note": "speaker stand-in: add the device's own stop latency (one 10 ms callback block)"}


def _stats(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    return {"median": round(statistics.median(values), 2), "min": round(min(values), 2),
            "max": round(max(values), 2), "n": len(values)}


def main() -> int:
    if "--speaker" in sys.argv[1:]:
        import bench_speaker

        return bench_speaker.main([a for a in sys.argv[1:] if a != "--speaker"])
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    results = {
        "overhead": bench_turns(args.turns, tokens_per_s=None, rtf=0.0),
        "streaming": bench_turns(min(args.turns, 20), tokens_per_s=30.0, rtf=0.2),
        "vad_per_32ms_chunk_ms": bench_vad(),
        "barge_in": bench_barge_in(args.turns),
    }
    from rich.console import Console
    from rich.table import Table

    t = Table(title="live-loop latency (medians)")
    for col in ("measure", "median", "min", "max", "n", "target"):
        t.add_column(col)

    def row(name, s, target=""):
        if s.get("n"):
            t.add_row(name, f"{s['median']:.1f} ms", f"{s['min']:.1f}", f"{s['max']:.1f}", str(s["n"]), target)

    row("1. end of speech → first audio, instant stages", results["overhead"]["first_audio_ms"], "≤ 20 ms")
    st = results["streaming"]
    row("2. first audio, 30 tok/s LLM + 0.2×RT TTS", st["first_audio_ms"])
    row("   first sentence ready + its synthesis", st.get("first_sentence_ready_plus_synthesis_ms", {}))
    row("   whole reply generated", st.get("whole_reply_generation_ms", {}))
    row("3. VAD silero, per 32 ms chunk", results["vad_per_32ms_chunk_ms"]["silero"], "≤ 1 ms")
    row("   VAD energy, per 32 ms chunk", results["vad_per_32ms_chunk_ms"]["energy"])
    if "onset_to_stopped_ms" in results["barge_in"]:
        row("4. barge-in: speech onset → playback stopped", results["barge_in"]["onset_to_stopped_ms"], "≤ 150 ms")
    Console().print(t)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    else:
        print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
