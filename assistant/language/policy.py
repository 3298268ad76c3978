"""Choosing a turn's language from Whisper's probabilities.

Whisper's argmax is unreliable on short clips and between close languages. The policy restricts
the choice to the languages a household speaks, keeps the previous language when the evidence
is weak (low probability or a short clip), or skips detection when a language is fixed.
The per-session state (previous language, a language the user asked for by voice) lives in
``LanguageState`` so a turn can change language without reloading any model.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistant.config import LanguagePolicy
from assistant.types import LanguageDecision


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
