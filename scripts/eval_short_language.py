"""Language ID of short utterances (one to three words, about 1–1.5 s) with and without the
session's language as a prior (issue 21: "a two-word utterance in a German session is German
unless the evidence is strong").

Two kinds of short speech: everyday two-word phrases synthesized by SVOX Pico (de, en, es, fr;
``py-nanotts``) and espeak-ng (pt, which Pico lacks), and 0.8/1.2/1.6 s pieces cut from the
FLEURS clips (human speech, from the first word and from the middle). The starter Whisper base
(faster-whisper, int8) detects each on the utterance's window, as a live turn does; then the
language policy decides as the first turn of a session (no prior), in a session already in the
utterance's language, and in a session in each other language (a switch made with a short
utterance), with the policy's defaults (``short_prior`` varied by ``--priors``) and with no prior
at all. Prints the counts per setting; ``--json`` writes the top probabilities.

    python3 scripts/eval_short_language.py shared/audio/fleurs [--priors 5 10 20] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

LANGS = ("de", "en", "es", "fr", "pt")
PHRASES = {
    "de": ["ja bitte", "nein danke", "wiederhole das", "sprich langsamer", "noch einmal", "gute Nacht",
           "wie spät", "danke schön"],
    "en": ["yes please", "no thanks", "repeat that", "speak slower", "once more", "good night", "what time",
           "thank you"],
    "es": ["sí gracias", "no gracias", "repite eso", "habla despacio", "otra vez", "buenas noches", "qué hora",
           "muchas gracias"],
    "fr": ["oui merci", "non merci", "répète ça", "parle lentement", "encore une fois", "bonne nuit",
           "quelle heure", "merci beaucoup"],
    "pt": ["sim obrigado", "não obrigado", "repete isso", "fala devagar", "outra vez", "boa noite", "que horas",
           "muito obrigado"],
}
PICO = {"de": "de-DE", "en": "en-US", "es": "es-ES", "fr": "fr-FR"}


def synthesize(text: str, language: str) -> tuple[np.ndarray, str]:
    """16 kHz float samples of ``text`` and the voice that spoke it."""
    if language in PICO:
        try:
            from py_nanotts import NanoTTS

            raw = NanoTTS().speak(text, voice=PICO[language])
            return np.frombuffer(raw, np.int16).astype(np.float32) / 32768, f"pico {PICO[language]}"
        except ImportError:
            pass
    import io

    import soundfile as sf

    wav = subprocess.run(["espeak-ng", "-v", language, "--stdout", text], capture_output=True, check=True).stdout
    samples, rate = sf.read(io.BytesIO(wav), dtype="float32")
    from assistant.core.types import AudioChunk

    return AudioChunk(samples, rate).resampled(16000).samples, f"espeak {language}"


def fleurs_cuts(directory: Path) -> list[tuple[str, str, np.ndarray]]:
    from assistant.audio.io import load_audio

    cuts = []
    for path in sorted(directory.glob("fleurs-*.ogg")):
        language = path.name.split("-")[1]
        if language not in LANGS:
            continue
        s = load_audio(path, 16000).samples
        level = np.sqrt(np.convolve(s ** 2, np.ones(400) / 400, "same"))
        start = int(np.argmax(level > 0.1 * level.max()))  # the first word
        for where, at in (("head", start), ("mid", len(s) // 2)):
            for seconds in (0.8, 1.2, 1.6):
                cuts.append((f"{path.stem}:{where}{seconds}", language, s[at: at + int(seconds * 16000)]))
    return cuts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("fleurs", type=Path)
    parser.add_argument("--priors", type=float, nargs="+", default=[5.0],
                        help="short_prior values to compare (the rest of the policy at its defaults)")
    parser.add_argument("--json", type=Path, help="write every utterance's probabilities here")
    args = parser.parse_args()

    from assistant.language.policy import LanguagePolicy, LanguageState, decide
    from assistant.models import starter_dir
    from assistant.stt.faster_whisper import FasterWhisperOptions, FasterWhisperSTT

    stt = FasterWhisperSTT(FasterWhisperOptions(model=str(Path(starter_dir()) / "whisper-base-ct2"), device="cpu",
                                                compute_type="int8", beam_size=None))
    stt.load()
    items = []
    for language, phrases in PHRASES.items():
        for text in phrases:
            samples, voice = synthesize(text, language)
            items.append(("phrase", f"{voice}: {text}", language, samples))
    items += [("fleurs", name, language, samples) for name, language, samples in fleurs_cuts(args.fleurs)]
    rows, all_probs = [], []
    for kind, name, language, samples in items:
        probs = stt.detect(samples)[0]
        all_probs.append(probs)
        rows.append({"kind": kind, "name": name, "language": language, "seconds": round(len(samples) / 16000, 2),
                     "probs": {k: round(v, 4) for k, v in list(probs.items())[:8]}})
    durations = [r["seconds"] for r in rows if r["kind"] == "phrase"]
    print(f"{len(durations)} phrases, {min(durations):.2f}-{max(durations):.2f} s; "
          f"{sum(r['kind'] == 'fleurs' for r in rows)} FLEURS pieces")
    settings = [("no prior", LanguagePolicy(min_duration_s=0.0, prior=1, short_prior=1, short_min_probability=0))]
    settings += [(f"prior {p:g}", LanguagePolicy(short_prior=p)) for p in args.priors]
    for label, policy in settings:
        for kind in ("phrase", "fleurs"):
            subset = [(r, probs) for r, probs in zip(rows, all_probs) if r["kind"] == kind]

            def right(r: dict, probs: dict, previous: str | None, policy: LanguagePolicy = policy) -> bool:
                return decide(probs, r["seconds"], policy, LanguageState(previous=previous)).language == r["language"]

            alone = sum(right(r, probs, None) for r, probs in subset)
            same = sum(right(r, probs, r["language"]) for r, probs in subset)
            switches = [(r, probs, o) for r, probs in subset for o in LANGS if o != r["language"]]
            switched = sum(right(r, probs, o) for r, probs, o in switches)
            print(f"{label:>9} {kind:>6}: first turn {alone}/{len(subset)}, same-language session "
                  f"{same}/{len(subset)}, switch to it {switched}/{len(switches)}")
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
