#!/usr/bin/env python3
"""Echo cancellation on a real sound server: does a reply interrupt itself, is a user heard?

    python3 scripts/bench_echo.py [--replies 20] [--barge-ins 20] [--canceller guard|aec|off ...]
                                  [--loop-ms 60] [--loop-db -6] [--json out.json]

A private PulseAudio server (tests/support/pulse.py) stands in for a laptop: module-loopback routes the
virtual speaker into the virtual microphone (``--loop-ms`` late, ``--loop-db`` quieter, the user's
voice and the replies at the same loudness). The live capture path runs as in ``assistant chat``
(``Speaker`` → device, ``Microphone`` → canceller → Silero VAD endpointer, whose speech starts
are what trigger barge-in).

- Replies: real TTS (the Pico voices de/en/es/fr/it, and Piper joe (en) when the starter pack has
  it), varied sentences, played with nobody talking: any speech start the endpointer reports
  during a reply or its echo tail is a self-interruption.
- Barge-ins: a FLEURS clip (five languages, not the reply's voice) played into the microphone
  1 s into a reply; its onset is found in the raw microphone stream by cross-correlation, the
  latency is stream time from that onset to the endpointer's confirmation (target: within 200 ms).

Per reply it also reports why a reply escaped: the true speaker-to-microphone lag as the
canceller sees it (render fed vs capture, by cross-correlation) and the guard's estimate; the
echo return loss enhancement (raw / cleaned energy) in the first 0.5 s and after; the residual's
level; Silero's speech probability on the cleaned audio; and a cause for each self-interruption:
``start`` (in the first 0.5 s, canceller not converged), ``lag`` (lag estimate off by > 20 ms),
``residual`` (converged, yet the quiet residue is speech to the VAD, which ignores loudness).

Conditions: ``off`` (no canceller), ``aec`` (WebRTC AEC3 alone), ``guard`` (AEC3 + the near-end
guard of assistant/audio/echo.py: what ``audio.echo_cancellation`` runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.audio.test_echo_device import Loop as DeviceLoop  # noqa: E402
from tests.support.pulse import start_pulse  # noqa: E402

FLEURS = ROOT.parent / "shared" / "audio" / "fleurs"
SR = 16000
FRAME = SR // 100
SENTENCES = {
    "en": ["The weather will stay dry until the weekend, with light wind from the west.",
           "Your next appointment is on Tuesday at half past ten in the morning.",
           "I found three restaurants nearby that are still open tonight."],
    "de": ["Morgen wird es sonnig und am Nachmittag etwas wärmer als heute.",
           "Der nächste Zug nach Berlin fährt in zwanzig Minuten von Gleis vier.",
           "Ich habe die Einkaufsliste gespeichert und zwei Sachen hinzugefügt."],
    "es": ["Mañana hará sol por la mañana y lloverá un poco por la tarde.",
           "El museo abre a las nueve y cierra a las seis todos los días.",
           "He guardado la receta y te la puedo leer paso a paso."],
    "fr": ["Demain, le temps sera nuageux avec quelques averses en soirée.",
           "La pharmacie la plus proche ferme à dix-neuf heures aujourd'hui.",
           "Je peux vous lire la liste des courses quand vous voulez."],
    "it": ["Domani il cielo sarà sereno e le temperature saliranno un po'.",
           "Il treno per Roma parte alle otto e un quarto dal binario tre.",
           "Ho salvato la ricetta e posso leggertela un passo alla volta."],
}


def level(x: np.ndarray, db: float = -20.0) -> np.ndarray:
    return np.clip(x * 10 ** (db / 20) / max(1e-6, float(np.sqrt(np.mean(x * x)))), -1, 1).astype(np.float32)


def onset(x: np.ndarray) -> int:
    env = np.sqrt(np.mean(np.square(x[: len(x) // 320 * 320].reshape(-1, 320)), axis=1))
    return int(np.argmax(env > 0.1 * env.max())) * 320


def make_replies() -> list[tuple[str, np.ndarray]]:
    """(label, 16 kHz samples): Pico in five languages, Piper joe for English when installed."""
    from assistant.tts.pico import PicoTTS

    pico = PicoTTS()
    voices = []
    for lang, sentences in SENTENCES.items():
        for s in sentences:
            voices.append((f"pico-{lang}", np.concatenate([c.samples for c in pico.synthesize(s, lang)])))
    try:
        from assistant.core.hub import starter_dir
        from assistant.tts.piper import PiperOptions, PiperTTS

        onnx = starter_dir() / "piper" / "en_US-joe-medium.onnx"
        if onnx.exists():
            piper = PiperTTS(PiperOptions(model=str(onnx)))
            piper.load()
            for s in SENTENCES["en"]:
                chunks = list(piper.synthesize(s, "en"))
                x = np.concatenate([c.samples for c in chunks])
                if chunks[0].sample_rate != SR:
                    from assistant.audio.capture import StreamResampler

                    r = StreamResampler(chunks[0].sample_rate, SR)
                    x = np.concatenate([r.process(x), r.flush()])
                voices.append(("piper-en", x))
    except Exception as e:  # noqa: BLE001 - Piper is optional here; Pico alone is a valid run
        print(f"(Piper joe not used: {e})", file=sys.stderr)
    # interleave languages so consecutive replies differ
    order = sorted(range(len(voices)), key=lambda i: (i % 3, i))
    return [(voices[i][0], level(voices[i][1])) for i in order]


def make_users(seconds: float = 1.5) -> list[tuple[str, np.ndarray]]:
    from assistant.audio.io import load_audio

    out = []
    for lang in ("de", "en", "es", "fr", "pt"):
        for path in sorted(FLEURS.glob(f"fleurs-{lang}-*.ogg")):
            x = load_audio(path, SR).samples
            x = x[max(0, onset(x) - SR // 10):]
            if len(x) >= seconds * SR:
                out.append((path.stem, level(x[: int(seconds * SR)])))
    order = sorted(range(len(out)), key=lambda i: (i % 10, i))  # languages interleaved
    return [out[i] for i in order]


def alone_latency_ms(user: np.ndarray) -> int | None:
    """The same measure for the clip with no reply playing (1 s of silence before it): what the
    voice detector needs by itself. Some clips start softly and take 250-450 ms even so."""
    from assistant.audio.endpointing import Endpointer, SpeechStarted
    from assistant.audio.settings import AudioSettings
    from assistant.audio.vad import make_vad

    a = AudioSettings()
    ep = Endpointer(make_vad(a.vad), threshold=a.vad_threshold, min_silence_ms=a.min_silence_ms,
                    min_speech_ms=a.min_speech_ms, max_utterance_s=a.max_utterance_s, pre_roll_ms=a.pre_roll_ms)
    x = np.concatenate([np.zeros(SR, np.float32), user, np.zeros(SR // 2, np.float32)])
    starts = [e.detected_offset for e in ep.feed(x) if isinstance(e, SpeechStarted)]
    return round((starts[0] - 1.0 - onset(user) / SR) * 1000) if starts else None


class Recorder:
    """Wraps a canceller: keeps the render it was fed and, per capture call, how much render
    had been fed, so the lag the canceller faces can be measured afterwards."""

    def __init__(self, echo) -> None:
        self.echo = echo
        self.render: list[np.ndarray] = []
        self.marks: list[tuple[int, int]] = []  # (capture samples so far, render samples so far)
        self._r = self._c = 0
        original = echo.process_render

        def process_render(samples):
            self.render.append(np.asarray(samples, np.float32).copy())
            self._r += len(samples)
            original(samples)

        echo.process_render = process_render

    def process_capture(self, block: np.ndarray, captured_until: float | None) -> np.ndarray:
        out = self.echo.process_capture(block, captured_until)  # feeds the queued render first
        self.marks.append((self._c, self._r))
        self._c += len(block)
        return out


class Loop(DeviceLoop):
    """The device test's loop (speaker + microphone → canceller → endpointer, as in ChatLoop.run),
    with the canceller's internals recorded."""

    def __init__(self, echo) -> None:
        super().__init__(echo, capture=Recorder(echo) if echo is not None else None)

    def t(self) -> float:
        return sum(map(len, self.raw)) / SR

    def play(self, x: np.ndarray) -> None:
        from assistant.core.types import AudioChunk

        self.speaker.play(AudioChunk(x, SR))


def energies(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME
    return np.mean(np.square(x[: n * FRAME].reshape(n, FRAME)), axis=1) + 1e-12


def db(x: float) -> float:
    return round(10 * np.log10(max(x, 1e-12)), 1)


def true_lag_ms(rec: Recorder, a: int, b: int, raw: np.ndarray) -> float | None:
    """The lag, in the canceller's view, of the echo in capture samples [a, b): how far back in
    the render fed so far (when each capture block was processed) the matching render lies."""
    from scipy.signal import correlate

    render = np.concatenate(rec.render) if rec.render else np.zeros(0, np.float32)
    seg = raw[a:b]
    if len(seg) < SR // 2 or len(render) < len(seg):
        return None
    marks = np.array(rec.marks)
    i = int(np.searchsorted(marks[:, 0], a, side="right")) - 1
    r_at = int(marks[max(i, 0), 1])  # render fed when capture sample a was processed
    lo = max(0, r_at - int(0.8 * SR) - len(seg))
    ref = render[lo: min(len(render), r_at + len(seg))]
    if len(ref) <= len(seg):
        return None
    corr = correlate(ref, seg, mode="valid", method="fft")
    k = int(np.argmax(np.abs(corr)))
    norm = float(np.sqrt(np.sum(seg * seg) * np.sum(ref[k:k + len(seg)] ** 2)))
    if norm <= 0 or abs(corr[k]) / norm < 0.3:
        return None
    matched = lo + k  # render sample that matches capture sample a
    return (r_at - matched) / SR * 1000.0


def silero_probs(x: np.ndarray) -> np.ndarray:
    from assistant.audio.vad import FRAME as VF
    from assistant.audio.vad import make_vad

    vad = make_vad("silero")
    n = len(x) // VF
    return np.array([vad.speech_probability(x[i * VF:(i + 1) * VF]) for i in range(n)]) if n else np.zeros(0)


def run(pulse, mode: str, replies, users, n_replies: int, n_barge: int, loop_ms: int, loop_db: float,
        dump: Path | None = None) -> dict:
    from scipy.signal import correlate

    from assistant.audio.echo import EchoCanceller

    mod = pulse.pactl("load-module", "module-loopback", f"source={pulse.speaker_sink}.monitor",
                      f"sink={pulse.mic_sink}", f"latency_msec={loop_ms}").strip()
    try:
        from tests.audio.test_echo_device import _attenuate

        _attenuate(pulse, mod, loop_db)
        echo = None if mode == "off" else EchoCanceller(SR, guard=(mode == "guard"))
        per_reply, barge = [], []
        with Loop(echo) as loop:
            time.sleep(1.0)
            for i in range(n_replies):
                label, x = replies[i % len(replies)]
                before = len(loop.starts)
                t0 = loop.t()
                loop.play(x)
                loop.speaker.wait_done(timeout=len(x) / SR + 5)
                time.sleep(0.6)  # the echo tail
                t1 = loop.t()
                starts = [s - t0 for s in loop.starts[before:]]
                per_reply.append({"reply": label, "seconds": round(len(x) / SR, 2), "t0": t0, "t1": t1,
                                  "self_interruptions": len(starts), "at_s": [round(s, 2) for s in starts],
                                  "guard_lag_ms": getattr(getattr(echo, "guard", None), "lag_ms", None)})
            for i in range(n_barge):
                label, x = replies[(i + 7) % len(replies)]
                uname, user = users[i % len(users)]
                before = len(loop.starts)
                t0 = loop.t()
                loop.play(x)
                time.sleep(1.0)
                pulse.play_into_mic(user).wait(timeout=10)
                loop.speaker.wait_done(timeout=len(x) / SR + 5)
                time.sleep(0.8)
                raw = np.concatenate(loop.raw)
                a = int(t0 * SR)
                corr = correlate(raw[a:], user, mode="valid", method="fft")
                on = (a + int(np.argmax(np.abs(corr))) + onset(user)) / SR
                after = [s for s in loop.starts[before:] if s >= on - 0.15]
                early = [s for s in loop.starts[before:] if s < on - 0.15]
                latency = round((after[0] - on) * 1000) if after else None
                barge.append({"reply": label, "user": uname, "latency_ms": latency,
                              "false_before": len(early), "t0": t0, "onset": on})
                time.sleep(0.8)
        raw = np.concatenate(loop.raw)
        clean = np.concatenate(loop.clean)
        if dump is not None and loop.capture is not None:  # for replaying the same streams offline
            np.savez_compressed(dump, raw=raw, clean=clean, render=np.concatenate(loop.capture.render),
                                marks=np.array(loop.capture.marks), blocks=np.array([len(b) for b in loop.raw]),
                                replies=np.array([[r["t0"], r["t1"]] for r in per_reply]),
                                barge=np.array([[b["t0"], b["onset"]] for b in barge]))
    finally:
        pulse.pactl("unload-module", mod)
    # what happened inside each reply
    probs = silero_probs(clean) if echo is not None else silero_probs(raw)
    from assistant.audio.vad import FRAME as VF

    for r in per_reply:
        a, b = int(r["t0"] * SR), min(int(r["t1"] * SR), len(raw), len(clean))
        er, ec = energies(raw[a:b]), energies(clean[a:b])
        loud = er > np.max(er) * 1e-3  # frames that hold echo
        first = np.flatnonzero(loud)
        s0 = int(first[0]) if len(first) else 0
        head, tail = slice(s0, s0 + 50), slice(s0 + 50, len(er))
        lh, lt = loud[head], loud[tail]
        r["echo_db"] = db(float(np.mean(er[loud]))) if loud.any() else None
        if echo is not None:
            r["erle_first_0.5s_db"] = db(float(np.sum(er[head][lh]) / np.sum(ec[head][lh]))) if lh.any() else None
            r["erle_after_db"] = db(float(np.sum(er[tail][lt]) / np.sum(ec[tail][lt]))) if lt.any() else None
            r["residual_db"] = db(float(np.mean(ec[loud]))) if loud.any() else None
            v = true_lag_ms(loop.capture, a + s0 * FRAME, b, raw)
            r["true_lag_ms"] = round(v) if v is not None else None
        p = probs[a // VF: b // VF]
        r["vad_max"] = round(float(p.max()), 2) if len(p) else None
        r["vad_frames_over"] = int(np.sum(p > 0.5))
        causes = []
        for s in r["at_s"]:
            if r.get("true_lag_ms") is not None and r.get("guard_lag_ms") is not None \
                    and abs(r["true_lag_ms"] - r["guard_lag_ms"]) > 20:
                causes.append("lag")
            elif s - s0 / 100 < 0.5 + 0.3:  # detection comes ~250 ms after the speech it confirms
                causes.append("start")
            else:
                causes.append("residual")
        r["causes"] = causes
        del r["t0"], r["t1"]
    alone: dict[str, int | None] = {}
    for b in barge:
        del b["t0"], b["onset"]
        if b["user"] not in alone:
            alone[b["user"]] = alone_latency_ms(dict(users)[b["user"]])
        b["alone_ms"] = alone[b["user"]]
        b["added_ms"] = (b["latency_ms"] - b["alone_ms"]
                         if b["latency_ms"] is not None and b["alone_ms"] is not None else None)
    lat = [b["latency_ms"] for b in barge if b["latency_ms"] is not None]
    added = [b["added_ms"] for b in barge if b["added_ms"] is not None]
    return {
        "canceller": mode, "loop_ms": loop_ms, "loop_db": loop_db,
        "replies": len(per_reply), "self_interrupted_replies": sum(1 for r in per_reply if r["self_interruptions"]),
        "barge_ins": len(barge), "detected": len(lat), "within_200ms": sum(1 for v in lat if v <= 200),
        "latency_median_ms": statistics.median(lat) if lat else None,
        "alone_within_200ms": sum(1 for v in alone.values() if v is not None and v <= 200), "clips": len(alone),
        "added_within_200ms": sum(1 for v in added if v <= 200),
        "added_median_ms": statistics.median(added) if added else None,
        "false_starts_before_user": sum(b["false_before"] for b in barge),
        "per_reply": per_reply, "per_barge_in": barge,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--replies", type=int, default=20)
    p.add_argument("--barge-ins", type=int, default=20)
    p.add_argument("--canceller", nargs="+", default=["aec", "guard"], choices=["off", "aec", "guard"])
    p.add_argument("--loop-ms", type=int, default=60)
    p.add_argument("--loop-db", type=float, default=-6.0)
    p.add_argument("--json", type=Path)
    p.add_argument("--dump", type=Path, help="save the streams (raw, cleaned, render) to FILE.<canceller>.npz")
    p.add_argument("--verbose", action="store_true", help="print every reply and barge-in")
    args = p.parse_args()
    replies, users = make_replies(), make_users()
    if not users:
        sys.exit(f"no FLEURS clips under {FLEURS}")
    results = []
    with tempfile.TemporaryDirectory() as d:
        env, why = start_pulse(d)
        if env is None:
            sys.exit(f"no PulseAudio: {why}")
        env.activate()
        try:
            for mode in args.canceller:
                r = run(env, mode, replies, users, args.replies, args.barge_ins if mode != "off" else 0,
                        args.loop_ms, args.loop_db,
                        args.dump.with_suffix(f".{mode}.npz") if args.dump else None)
                results.append(r)
                if args.verbose:
                    for x in r["per_reply"]:
                        print(json.dumps(x, ensure_ascii=False))
                    for x in r["per_barge_in"]:
                        print(json.dumps(x, ensure_ascii=False))
                print(f"{mode:5}: self-interrupted replies {r['self_interrupted_replies']}/{r['replies']}"
                      + (f"; barge-in within 200 ms {r['within_200ms']}/{r['barge_ins']} (detected "
                         f"{r['detected']}, median {r['latency_median_ms']} ms; the clip alone within 200 ms: "
                         f"{r['alone_within_200ms']}/{r['clips']} clips; at most 200 ms later than the clip "
                         f"alone: {r['added_within_200ms']}/{r['barge_ins']}, median +{r['added_median_ms']} ms)"
                         if r["barge_ins"] else ""),
                      flush=True)
        finally:
            env.stop()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
