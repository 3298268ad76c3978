"""Choosing a turn's language from Whisper's probabilities.

Whisper's argmax is unreliable on short clips and between close languages. The policy restricts
the choice to the languages a household speaks, keeps the previous language when the evidence
is weak (low probability or a short clip), or skips detection when a language is fixed.
The per-session state (previous language, a language the user asked for by voice) lives in
``LanguageState`` so a turn can change language without reloading any model.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from assistant.options import Section
from assistant.types import LanguageDecision


class LanguagePolicy(Section):
    """How the turn's language is chosen from Whisper's probabilities (see assistant/language/)."""

    languages: tuple[str, ...] = Field(
        (), description="Restrict detection to these language codes (empty: any language Whisper knows).")
    min_probability: float = Field(
        0.5, ge=0, le=1, description="Below this probability keep the previous turn's language (or `default`).")
    min_duration_s: float = Field(
        1.0, ge=0, description="Clips shorter than this keep the previous turn's language.")
    default: str = Field("en", description="Language used before any turn has set one.")
    reply_language: str = Field(
        "same", description="`same`: reply in the user's language; or a code to always reply in that language.")
    check_reply: bool = Field(
        True, description="Check the reply's language and regenerate once when it is wrong.")


@dataclass
class LanguageState:
    previous: str | None = None  # the last turn's language
    requested: str | None = None  # set by "speak German" until told otherwise


def top_n(probs: dict[str, float], n: int = 3) -> tuple[tuple[str, float], ...]:
    return tuple(sorted(probs.items(), key=lambda kv: kv[1], reverse=True)[:n])



def decide(probs: dict[str, float] | None, duration: float, policy: LanguagePolicy,
           state: LanguageState, fixed: str | None = None) -> LanguageDecision:
    """The language to transcribe with. ``probs`` is None only when ``fixed`` is set."""
    if fixed is not None:
        return LanguageDecision(fixed, "fixed", None, ())
    assert probs is not None, "detection is needed when no language is fixed"
    top = top_n(probs)
    fallback = state.previous or policy.default
    allowed = [c for c in policy.languages if c in probs]
    if allowed:
        total = sum(probs[c] for c in allowed)
        best = max(allowed, key=lambda c: probs[c])
        # Within the allowed set, the probability that matters is the share among them.
        probability = probs[best] / total if total > 0 else 0.0
        reason = "detected" if best == top[0][0] else "restricted"
    else:
        best, probability = top[0]
        reason = "detected"
    if duration < policy.min_duration_s or probability < policy.min_probability:
        kept = "kept-previous" if state.previous else "default"
        return LanguageDecision(fallback, kept, probs.get(fallback), top)
    return LanguageDecision(best, reason, probability, top)
