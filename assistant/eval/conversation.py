"""``assistant eval conversation``: spoken questions through the whole loop, scored per language.

Each question (``questions.py``) is spoken by a *question voice* (the most intelligible one here
for its language: Pico where that backend is installed, the starter Piper voice for English,
espeak-ng otherwise; Portuguese has only espeak-ng) and goes through the assistant's own turn
engine as a live utterance would: voice-activity check, language ID and transcription with the
configured STT, the LLM's streamed reply with the reply-language check and its retry, the reply
voice. Every question gets a fresh conversation, so answers don't depend on the order or on the
earlier (possibly wrong) replies in the history, and ``--limit`` slices score the same turns as a
full run; the language detection then has no previous language to lean on, like a first turn.

Per language: language-ID accuracy (the language the engine answered in), transcript WER against
the question text, the share of replies in the question's language (judged by
lingua in its high-accuracy mode, over the replies long enough to judge), the share of degenerate replies
(empty, echo of the question, loop, cut off by the token limit), answer correctness (an accepted
keyword in the reply, normalised), the reply voice's round-trip WER (the reply audio transcribed
again with the language fixed, against the reply text) and the first-audio time (end of the
question to the first reply audio, as the live loop streams it).
"""

from __future__ import annotations

import re
import statistics
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any, Callable

import numpy as np

from assistant.core import registry
from assistant.core.errors import AssistantError, ConfigError
from assistant.core.types import AudioChunk, Utterance
from assistant.engine import CollectingSink, TurnPolicy
from assistant.eval.questions import Question
from assistant.eval.wer import WordErrors, normalize, word_errors

# Live-loop behaviour (sentences spoken as the LLM writes them: the first-audio time a user
# hears); failures are recorded in the row, not raised.
POLICY = TurnPolicy(stream=True, say_errors=False, raise_errors=False)
PICO_LANGUAGES = ("de", "en", "es", "fr", "it")
ECHO_WER = 0.25  # a reply this close to the question (word edits per question word) is an echo
LOOP_NGRAM, LOOP_NGRAM_REPEATS = 4, 3  # the same 4 words 3 times in one reply is a loop
PAD_S = 0.25  # silence around a synthesized question, as a recording has


# ------------------------------------------------------------------ scoring (pure functions)

def numbers_to_words(text: str, language: str) -> str:
    """Digits as the language's number words (``7`` → ``sieben``), so "7" and "sieben" compare equal."""
    from num2words import num2words

    def words(m: re.Match[str]) -> str:
        try:
            return f" {num2words(int(m.group()), lang=language)} "
        except (NotImplementedError, OverflowError, ValueError):
            return m.group()

    return re.sub(r"\d+", words, text)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize_answer(text: str, language: str) -> str:
    """Lower case (casefold: ß = ss), numbers as words, no accents, no punctuation."""
    return normalize(strip_accents(numbers_to_words(text, language).casefold()))


def is_correct(reply: str, answers: tuple[str, ...] | list[str], language: str) -> bool:
    """An accepted keyword appears in ``reply`` as whole words (after ``normalize_answer``)."""
    padded = f" {normalize_answer(reply, language)} "
    return any(f" {key} " in padded for a in answers if (key := normalize_answer(a, language)))


def _loops(reply: str, words: list[str]) -> bool:
    from assistant.text.reply_guard import repeated_run

    sentences = [normalize(s) for s in re.split(r"[.!?…;\n]+", reply)]
    long = [s for s in sentences if len(s.split()) >= 3]
    if len(long) != len(set(long)):
        return True
    grams = Counter(tuple(words[i:i + LOOP_NGRAM]) for i in range(len(words) - LOOP_NGRAM + 1))
    if grams and max(grams.values()) >= LOOP_NGRAM_REPEATS:
        return True
    return any(repeated_run(words[:i]) is not None for i in range(1, len(words) + 1))


def degenerate_reason(reply: str, question: str, cut_off: bool = False) -> str | None:
    """``empty`` | ``echo`` (the question said back, at most one word in four changed) | ``loop``
    (a repeated sentence, or the same words over and over) | ``cut off`` (the token limit ended
    the reply) | None for a reply that is none of these."""
    words = normalize(reply).split()
    if not words:
        return "empty"
    echo = word_errors(question, reply).wer
    if echo is not None and echo <= ECHO_WER:
        return "echo"
    if _loops(reply, words):
        return "loop"
    if cut_off:
        return "cut off"
    return None


def number_errors(reference: str, hypothesis: str, language: str) -> WordErrors:
    """WER edits with numbers written as words on both sides (accents and case kept as ``wer`` does)."""
    return word_errors(numbers_to_words(reference, language), numbers_to_words(hypothesis, language))


class LanguageJudge:
    """Which language a reply is in, for the score: lingua in its high-accuracy mode over all its
    languages (the engine's own checker uses the fast low-accuracy mode, which reads "The capital
    of France is Paris." as French). Names and numbers make short replies close calls ("A
    capital da França é Paris.": fr 0.26, pt 0.19), so the expected language also counts when
    it has at least ``RUNNER_UP`` of the top language's confidence. Replies with fewer than
    ``MIN_WORDS`` words of letters ("3 + 4 = 7", "Paris.") are not judged."""

    MIN_WORDS = 3
    RUNNER_UP = 0.5

    def __init__(self) -> None:
        self._detector: Any = None

    def judge(self, text: str, expected: str) -> tuple[str | None, bool | None]:
        """(the language read, whether it is ``expected``; None when too short to judge)."""
        if len(re.findall(r"[^\W\d_]{2,}", text)) < self.MIN_WORDS:
            return None, None
        if self._detector is None:
            from lingua import LanguageDetectorBuilder

            self._detector = LanguageDetectorBuilder.from_all_languages().build()
        values = self._detector.compute_language_confidence_values(text)
        if not values:
            return None, False
        scores = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
        top = values[0].language.iso_code_639_1.name.lower()
        return top, top == expected or scores.get(expected, 0.0) >= self.RUNNER_UP * values[0].value


# ------------------------------------------------------------------ question voices

def _options(backend: str, name: str | None = None, **values: Any) -> Any:
    cls = registry.get("tts", backend).options_class()
    if name:
        values["model" if "model" in cls.model_fields else "voice"] = name
    try:
        return cls.model_validate({"backend": backend, **values})
    except Exception as e:  # pydantic's ValidationError: a wrong name or option
        raise ConfigError([f"question voice {backend}:{name or ''}: {e}"]) from None


def default_question_voice(language: str) -> Any:
    """Pico where its backend is registered (de/en/es/fr/it), the starter Piper voice for English
    where it is present, else espeak-ng (the only voice for pt here: a poor one)."""
    if language == "en" and "piper" in registry.BACKENDS["tts"]:
        from assistant.models import starter, starter_dir

        onnx = Path(starter_dir()) / starter.PIPER_VOICE
        if onnx.is_file():
            return _options("piper", str(onnx), device="cpu")
    if language in PICO_LANGUAGES and "pico" in registry.BACKENDS["tts"]:
        try:
            return _options("pico")
        except ConfigError:
            pass
    return _options("espeak")


def parse_question_voice(spec: str) -> tuple[str, Any]:
    """``de=espeak``, ``en=piper:/path/voice.onnx``, ``fr=pico`` → (language, voice options)."""
    lang, sep, voice = spec.partition("=")
    backend, _, name = voice.partition(":")
    if not sep or not lang.strip() or not backend.strip():
        raise ConfigError([f"--question-voice {spec!r}: expected LANG=BACKEND or LANG=BACKEND:NAME "
                           "(e.g. de=espeak, en=piper:en_US-joe-medium)"])
    return lang.strip(), _options(backend.strip(), name.strip() or None)


class QuestionSpeaker:
    """Speaks the questions: one loaded voice per language, checked before any slow work."""

    def __init__(self, voices: dict[str, Any], factory: Callable[[Any], Any] | None = None) -> None:
        from assistant.tts.voices import voice_label

        self.options = voices
        self.factory = factory or (lambda opts: registry.get("tts", opts.backend).create(opts))
        self.labels = {lang: voice_label(o) for lang, o in voices.items()}
        self._engines: dict[str, Any] = {}

    def load(self) -> None:
        for lang, opts in self.options.items():
            label = self.labels[lang]
            if label not in self._engines:
                engine = self.factory(opts)
                engine.load()
                self._engines[label] = engine
            if self._engines[label].supports(lang) is False:
                raise ConfigError([f"question voice {label} cannot speak '{lang}': choose another with "
                                   f"--question-voice {lang}=BACKEND[:NAME]"])

    def speak(self, question: Question) -> AudioChunk:
        engine = self._engines[self.labels[question.language]]
        audio = AudioChunk.concat(list(engine.synthesize(question.text, question.language)))
        pad = np.zeros(int(PAD_S * audio.sample_rate), np.float32)
        return AudioChunk(np.concatenate([pad, audio.samples.astype(np.float32), pad]), audio.sample_rate)


# ------------------------------------------------------------------ the loop

@dataclass
class Row:
    """One question's turn and its scores."""

    question: Question
    question_voice: str
    status: str = "ok"
    error: str | None = None
    detected: str | None = None
    transcript: str = ""
    transcript_errors: WordErrors = field(default_factory=WordErrors)
    reply: str = ""
    reply_voice: str | None = None
    reply_language: str | None = None  # what the reply checker read it as
    right_language: bool | None = None  # None: too short (or unknown) to judge
    degenerate: str | None = None
    correct: bool = False
    heard_back: str = ""
    reply_errors: WordErrors | None = None
    first_audio_ms: float | None = None

    def to_dict(self) -> dict[str, Any]:
        q = self.question
        return {"id": q.id, "language": q.language, "question": q.text, "answers": list(q.answers),
                "question_voice": self.question_voice, "status": self.status, "error": self.error,
                "detected": self.detected, "transcript": self.transcript,
                "transcript_wer": self.transcript_errors.wer, "reply": self.reply, "reply_voice": self.reply_voice,
                "reply_language": self.reply_language, "right_language": self.right_language,
                "degenerate": self.degenerate, "correct": self.correct, "heard_back": self.heard_back,
                "reply_wer": self.reply_errors.wer if self.reply_errors else None,
                "first_audio_ms": None if self.first_audio_ms is None else round(self.first_audio_ms, 1)}


def ask(bot: Any, question: Question, audio: AudioChunk, voice: str = "", judge: "LanguageJudge | None" = None) -> Row:
    """One question through the engine in a fresh conversation (``bot``: an ``Assistant``), scored."""
    engine = bot.engine
    session = engine.new_session()
    sink = CollectingSink()
    utterance = Utterance(audio, source=f"question {question.id}", ended_at=engine.clock())
    turn = engine.run(session, utterance, sink, POLICY)
    row = Row(question, voice, status=turn.status, error=turn.error, detected=turn.language,
              transcript=turn.text, reply=turn.reply_text, reply_voice=turn.voice,
              first_audio_ms=turn.timings_ms.get("first_audio"))
    lang = question.language
    row.transcript_errors = number_errors(question.text, turn.text, lang)
    cut = getattr(bot.llm, "finish_reason", None) == "length"
    row.degenerate = degenerate_reason(row.reply, turn.text or question.text, cut) if turn.status in ("ok", "failed") \
        else "empty"
    row.correct = is_correct(row.reply, question.answers, lang)
    if row.reply.strip():
        row.reply_language, row.right_language = (judge or LanguageJudge()).judge(row.reply, lang)
    if turn.reply_audio is not None and row.reply.strip():
        stt = bot.stt
        row.heard_back = stt.transcribe(turn.reply_audio.resampled(stt.sample_rate),
                                        language=turn.reply_language or lang).text
        row.reply_errors = number_errors(row.reply, row.heard_back, turn.reply_language or lang)
    return row


def evaluate(bot: Any, questions: dict[str, list[Question]], speaker: QuestionSpeaker,
             on_row: Callable[[Row, dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Every question of every language; returns the report (``languages``: the figures per language,
    ``overall``, ``rows``). ``on_row(row, report so far)`` after each question."""
    from assistant.core.turnlog import TurnLog

    speaker.load()  # a voice that can't speak its language fails before the models load
    judge = LanguageJudge()
    bot.engine.turn_log = TurnLog(None)  # an evaluation's turns are not the user's conversation
    t0 = time.perf_counter()
    load_ms = bot.load()
    rows: list[Row] = []
    # question 1 of every language, then question 2, ...: a run stopped early still covers them all
    for q in (q for batch in zip_longest(*questions.values()) for q in batch if q is not None):
        try:
            audio = speaker.speak(q)
        except AssistantError as e:
            row = Row(q, speaker.labels[q.language], status="failed", error=f"question voice: {e}", degenerate="empty")
        else:
            row = ask(bot, q, audio, speaker.labels[q.language], judge)
        rows.append(row)
        if on_row:
            on_row(row, report(rows, questions, load_ms, t0))
    return report(rows, questions, load_ms, t0)


def report(rows: list[Row], questions: dict[str, list[Question]], load_ms: dict[str, float],
           t0: float) -> dict[str, Any]:
    """The summary per language and overall, and every row, of the questions answered so far."""
    return {"languages": {lang: summarize([r for r in rows if r.question.language == lang]) for lang in questions},
            "overall": summarize(rows), "rows": [r.to_dict() for r in rows],
            "load_ms": {k: round(v, 1) for k, v in load_ms.items()}, "seconds": round(time.perf_counter() - t0, 1)}


def _share(hits: int, n: int) -> float | None:
    return hits / n if n else None


def summarize(rows: list[Row]) -> dict[str, Any]:
    """The figures of one language (or all): shares as fractions, WER corpus-level, times in ms."""
    n = len(rows)
    transcript = sum((r.transcript_errors for r in rows), WordErrors())
    replies = sum((r.reply_errors for r in rows if r.reply_errors), WordErrors())
    judged = [r.right_language for r in rows if r.right_language is not None]
    firsts = [r.first_audio_ms for r in rows if r.first_audio_ms is not None]
    reasons = Counter(r.degenerate for r in rows if r.degenerate)
    return {
        "questions": n,
        "question_voices": sorted({r.question_voice for r in rows}),
        "reply_voices": sorted({r.reply_voice for r in rows if r.reply_voice}),
        "lid_accuracy": _share(sum(r.detected == r.question.language for r in rows), n),
        "wer": transcript.wer,
        "right_language": _share(sum(judged), len(judged)),
        "language_judged": len(judged),
        "degenerate": _share(sum(reasons.values()), n),
        "degenerate_reasons": dict(sorted(reasons.items())),
        "correct": _share(sum(r.correct for r in rows), n),
        "reply_wer": replies.wer,
        "first_audio_median_ms": round(statistics.median(firsts), 1) if firsts else None,
        "first_audio_p95_ms": round(float(np.percentile(firsts, 95)), 1) if firsts else None,
        "failed": sum(r.status == "failed" for r in rows),
    }
