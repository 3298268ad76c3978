"""The ``commands:`` section: voice commands, what they change, and the spoken feedback."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class CommandSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Recognise voice commands (stop, repeat, slower, ...) before the LLM.")
    rate_step: float = Field(0.15, gt=0, le=1, description="How much one 'slower'/'faster' changes the speaking rate.")
    min_rate: float = Field(0.6, gt=0.2, le=1, description="Slowest speaking-rate factor.")
    max_rate: float = Field(1.75, ge=1, le=3, description="Fastest speaking-rate factor.")
    volume_step_db: float = Field(4.0, gt=0, le=20,
                                  description="How much one 'louder'/'quieter' changes the volume (dB).")
    min_volume_db: float = Field(-24.0, le=0, description="Quietest output gain (dB).")
    max_volume_db: float = Field(12.0, ge=0, le=24, description="Loudest output gain (dB); never clips.")
    patient_silence_ms: int = Field(
        1800, ge=300, le=10000, description="End-of-turn silence in patient mode ('take your time').")
    earcon: bool = Field(True, description="A short sound (live chat) when a voice command is understood.")
    still_thinking_s: float = Field(
        3.0, ge=0, le=60, description="Say 'still thinking' when the reply's first audio is this many seconds "
                                      "away (0: never).")
    noise_hint_after: int = Field(
        3, ge=0, le=100, description="After this many turns in a row with no speech (noise), say how to get "
                                     "help (0: never).")
    speakable_replies: bool = Field(
        True, description="Make replies speech-friendly for the voice (markdown, emoji, URLs, numbers); the "
                          "captions, the turn log and the history keep the original text.")
    session_language_s: float = Field(
        3.0, ge=0, le=30, description="An utterance this short that Whisper took for another language than the "
                                      "session's, and that is no command as heard, is transcribed again in the "
                                      "session's language; a command found there is the turn (0: never).")
    extra_phrases: dict[str, dict[str, tuple[str, ...]]] = Field(
        default_factory=dict,
        description="More phrasings: {kind: {language: [phrase, ...]}}, e.g. {stop: {en: [hold on]}}.")
