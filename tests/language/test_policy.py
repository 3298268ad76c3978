from assistant.config import LanguagePolicy
from assistant.language.policy import LanguageState, decide

PROBS = {"nl": 0.40, "de": 0.35, "en": 0.05, "af": 0.20}


def test_detected_argmax():
    d = decide(PROBS, 3.0, LanguagePolicy(min_probability=0.3), LanguageState())
    assert (d.language, d.reason) == ("nl", "detected")
    assert d.top[0] == ("nl", 0.40) and len(d.top) == 3


def test_restricted_choice_picks_most_probable_allowed():
    d = decide(PROBS, 3.0, LanguagePolicy(languages=("de", "en")), LanguageState())
    assert (d.language, d.reason) == ("de", "restricted")
    assert abs(d.probability - 0.35 / 0.40) < 1e-9  # share among the allowed languages


def test_restricted_when_argmax_allowed_is_detected():
    d = decide(PROBS, 3.0, LanguagePolicy(languages=("nl", "de")), LanguageState())
    assert (d.language, d.reason) == ("nl", "detected")


def test_the_previous_language_is_a_prior_not_a_verdict():
    """The observed case: Portuguese after French, detection it 0.44 / la 0.23 / pt 0.15 / fr 0.03.
    The old rule forced French (below min_probability); the prior cannot lift French's 0.05
    above Italian or Portuguese, and the decision is unsure, so the next candidates are named."""
    probs = {"it": 0.44, "la": 0.23, "pt": 0.15, "es": 0.10, "en": 0.05, "fr": 0.03}
    d = decide(probs, 4.0, LanguagePolicy(), LanguageState(previous="fr"))
    assert d.language == "it" and d.reason == "detected"
    assert d.probability < 0.5 and d.candidates == ("la",)
    # restricted to the household's languages, the same evidence gives Portuguese
    d = decide(probs, 4.0, LanguagePolicy(languages=("de", "en", "es", "fr", "pt")), LanguageState(previous="fr"))
    assert d.language == "pt" and d.candidates == ("es",)


def test_the_prior_tips_close_calls_towards_the_previous_language():
    probs = {"es": 0.40, "pt": 0.35, "gl": 0.20, "en": 0.05}
    assert decide(probs, 3.0, LanguagePolicy(), LanguageState()).language == "es"
    d = decide(probs, 3.0, LanguagePolicy(), LanguageState(previous="pt"))
    assert (d.language, d.reason) == ("pt", "kept-previous")
    assert abs(d.probability - 3 * 0.35 / (3 * 0.35 + 0.65)) < 1e-9 and not d.candidates
    # with no prior the argmax wins, as before
    assert decide(probs, 3.0, LanguagePolicy(prior=1.0), LanguageState(previous="pt")).language == "es"


def test_a_clear_switch_wins_over_the_prior():
    probs = {"de": 0.80, "en": 0.15, "nl": 0.05}
    d = decide(probs, 3.0, LanguagePolicy(), LanguageState(previous="en"))
    assert (d.language, d.reason) == ("de", "detected") and d.probability > 0.6 and not d.candidates


def test_short_clips_get_a_stronger_prior_but_strong_evidence_still_wins():
    """Issue 21: a two-word utterance in a German session is German unless the evidence is strong."""
    state = LanguageState(previous="de")
    weak = {"en": 0.55, "fr": 0.25, "de": 0.12, "nl": 0.08}
    assert decide(weak, 3.0, LanguagePolicy(), state).language == "en"  # a sentence: 3 × 0.12 < 0.55
    d = decide(weak, 1.2, LanguagePolicy(), state)  # two words: 5 × 0.12 > 0.55
    assert (d.language, d.reason) == ("de", "kept-previous")
    strong = {"en": 0.93, "de": 0.05, "fr": 0.02}  # 5 × 0.05 < 0.93 anyway
    assert decide(strong, 1.2, LanguagePolicy(), state).language == "en"
    strong = {"en": 0.90, "de": 0.10}  # 10 × 0.10 would win, but 0.90 ≥ strong_probability
    d = decide(strong, 1.2, LanguagePolicy(short_prior=10), state)
    assert (d.language, d.reason) == ("en", "detected")
    assert decide(strong, 1.2, LanguagePolicy(short_prior=10, strong_probability=0.95), state).language == "de"


def test_candidates_only_when_unsure_and_as_many_as_configured():
    probs = {"nl": 0.30, "de": 0.28, "af": 0.22, "en": 0.20}
    d = decide(probs, 3.0, LanguagePolicy(candidates=3), LanguageState())
    assert d.language == "nl" and d.candidates == ("de", "af")
    assert decide(probs, 3.0, LanguagePolicy(candidates=1), LanguageState()).candidates == ()
    assert decide(probs, 3.0, LanguagePolicy(min_probability=0.2), LanguageState()).candidates == ()
    assert decide(probs, 3.0, LanguagePolicy(), LanguageState()).to_dict()["candidates"] == ["de"]


def test_combine_two_looks_at_the_same_audio():
    from assistant.language.policy import combine

    short = {"it": 0.44, "la": 0.23, "pt": 0.15, "fr": 0.18}
    full = {"pt": 0.60, "it": 0.10, "fr": 0.20, "la": 0.10}
    c = combine(short, full)
    assert next(iter(c)) == "pt" and abs(sum(c.values()) - 1) < 1e-9
    assert combine({"en": 1.0}, {"de": 1.0}) == {"de": 1.0}  # no overlap: the full window's look


def test_short_clip_keeps_previous():
    d = decide({"en": 0.99}, 0.4, LanguagePolicy(min_duration_s=1.0), LanguageState(previous="de"))
    assert (d.language, d.reason) == ("de", "kept-previous")


def test_fixed_skips_detection():
    d = decide(None, 3.0, LanguagePolicy(), LanguageState(previous="de"), fixed="pt")
    assert (d.language, d.reason, d.probability) == ("pt", "fixed", None)


def test_a_short_clip_switches_only_on_clear_evidence():
    probs = {"en": 0.68, "fr": 0.27, "de": 0.05}
    state = LanguageState(previous="de")
    d = decide(probs, 1.2, LanguagePolicy(), state)  # en gets 0.68 / (0.68 + 0.25 + 0.27) = 0.57 < 0.6
    assert (d.language, d.reason) == ("de", "kept-previous")
    assert decide(probs, 3.0, LanguagePolicy(), state).language == "en"  # a sentence: 0.62 with prior 3
    assert decide(probs, 1.2, LanguagePolicy(short_min_probability=0.5), state).language == "en"


class _UnsureSTT:
    """Detection unsure on the utterance's window (it 0.44, pt 0.15), surer of pt on the full
    window; a backend given candidates reports the first (as if the first decode failed)."""

    sample_rate = 16000

    def __init__(self, full=True):
        self.calls = []
        if not full:
            self.detect_language_full = None

    def load(self):
        pass

    def detect_language(self, audio):
        return {"it": 0.44, "la": 0.23, "pt": 0.15, "es": 0.10, "en": 0.05, "fr": 0.03}

    def detect_language_full(self, audio):
        self.calls.append("full")
        return {"pt": 0.75, "it": 0.10, "es": 0.10, "fr": 0.05}

    def transcribe(self, audio, *, language=None, initial_prompt=None, alternatives=()):
        from assistant.core.types import Transcript

        self.calls.append((language, alternatives))
        used = alternatives[0] if alternatives else language
        return Transcript("uma frase qualquer", used, None, duration=audio.duration)


def _hear(stt, previous="fr"):
    import numpy as np

    from assistant.config import load_config
    from assistant.core.types import AudioChunk, Utterance
    from assistant.engine.stages import Stages

    stages = Stages(load_config(None, ["language.check_reply=false"]), stt, llm=None, voices=None)
    stages._loaded.add("stt")
    audio = AudioChunk(np.full(4 * 16000, 0.1, np.float32), 16000)
    state = LanguageState(previous=previous)
    return stages.recognise(Utterance(audio, speech_ratio=1.0), state, {}), state


def test_an_unsure_turn_takes_a_second_look():
    stt = _UnsureSTT()
    heard, state = _hear(stt)
    assert stt.calls[0] == "full"  # the utterance's window was unsure: the full window is consulted
    assert stt.calls[1] == ("pt", ())  # it 0.44 x 0.10 against pt 0.15 x 0.75: Portuguese, now sure
    assert (heard.decision.language, heard.decision.reason) == ("pt", "detected") and state.previous == "pt"


def test_a_backend_without_a_second_look_still_gets_candidates():
    stt = _UnsureSTT(full=False)
    heard, _ = _hear(stt)
    assert stt.calls == [("it", ("la",))]
    assert heard.decision.language == "la" and heard.decision.reason == "candidate"
