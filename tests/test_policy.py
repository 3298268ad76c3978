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


def test_low_probability_keeps_previous():
    state = LanguageState(previous="fr")
    d = decide(PROBS, 3.0, LanguagePolicy(min_probability=0.6), state)
    assert (d.language, d.reason) == ("fr", "kept-previous")


def test_low_probability_without_previous_uses_default():
    d = decide(PROBS, 3.0, LanguagePolicy(min_probability=0.6, default="es"), LanguageState())
    assert (d.language, d.reason) == ("es", "default")


def test_short_clip_keeps_previous():
    d = decide({"en": 0.99}, 0.4, LanguagePolicy(min_duration_s=1.0), LanguageState(previous="de"))
    assert (d.language, d.reason) == ("de", "kept-previous")


def test_fixed_skips_detection():
    d = decide(None, 3.0, LanguagePolicy(), LanguageState(previous="de"), fixed="pt")
    assert (d.language, d.reason, d.probability) == ("pt", "fixed", None)
