"""The ``audio:`` section: devices, voice-activity endpointing, barge-in, cues (live chat)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class AudioSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input_device: str | int | None = Field(
        None, description="Microphone: index or part of its name (`assistant devices` lists them); null = default.")
    output_device: str | int | None = Field(
        None, description="Speaker: index or part of its name; null = default.")
    vad: Literal["silero", "energy"] = Field(
        "silero",
        description="Voice-activity detector: `silero` (neural, bundled model) or `energy` (no dependencies).")
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Speech probability that counts as speech.")
    end_of_turn: Literal["silence", "smart-turn", "combined"] = Field(
        "silence", description="How the end of the user's turn is decided: `silence` (a pause of "
                               "min_silence_ms), `smart-turn` (after a short pause the Smart Turn v3 "
                               "model judges whether the words are finished: yes ends the turn at once, "
                               "no waits up to max_silence_ms) or `combined` (the pause needed is chosen "
                               "from Smart Turn's probability, the speaker's own pauses in the session "
                               "and the early transcript's last words when there is one: combined_* keys).")
    min_silence_ms: int = Field(500, ge=100, le=5000,
                                description="Silence that ends an utterance (end_of_turn: silence).")
    smart_turn_silence_ms: int = Field(
        200, ge=64, le=2000, description="smart-turn: the pause after which the model is asked.")
    max_silence_ms: int = Field(
        1600, ge=100, le=10000, description="smart-turn: the silence that ends a turn the model judged "
                                            "unfinished (raise it for slow or hesitant speakers).")
    smart_turn_threshold: float = Field(
        0.5, gt=0, lt=1, description="smart-turn: probability of 'finished' above which the turn ends early.")
    combined_smart_turn: bool = Field(
        True, description="combined: ask the Smart Turn model (false: silence and the speaker's pauses only).")
    combined_short_ms: int = Field(
        300, ge=64, le=5000, description="combined: the pause that ends a turn Smart Turn is sure of "
                                         "(probability >= combined_sure, or >= smart_turn_threshold and "
                                         "the early transcript ends a sentence).")
    combined_mid_ms: int = Field(
        500, ge=64, le=5000, description="combined: the pause that ends a turn Smart Turn finds likely "
                                         "finished (>= smart_turn_threshold), or without the model; "
                                         "below the threshold, or after a continuation word or a "
                                         "comma in the early transcript, it waits combined_long_ms.")
    combined_long_ms: int = Field(
        1000, ge=64, le=10000, description="combined: the pause that ends a turn Smart Turn finds "
                                           "unfinished (also the most a speaker's habits can ask for).")
    combined_sure: float = Field(
        0.9, gt=0, lt=1, description="combined: Smart Turn probability above which combined_short_ms is enough.")
    combined_habit_margin_ms: int = Field(
        0, ge=0, le=5000, description="combined: the wait is at least the longest pause the speaker "
                                      "went on after (in their last 8; see combined_habit_quantile) plus this.")
    combined_habit_quantile: float = Field(
        1.0, ge=0, le=1, description="combined: which of the speaker's pauses sets the least wait "
                                     "(1: the longest of their last 8, 0.5: the median).")
    smart_turn_model: str | None = Field(
        None, description="smart-turn: path of the ONNX model; empty = the starter pack's "
                          "smart-turn/smart-turn-v3.2-cpu.onnx (or an installed pipecat-ai's).")
    early_stt: bool = Field(
        False, description="Live chat: start speech recognition at the first pause (200 ms), before the "
                           "turn is certain; the result is used when the user does not go on, thrown "
                           "away (its CPU time lost) when they do.")
    min_speech_ms: int = Field(250, ge=0, description="Shorter bursts (clicks, coughs) are ignored.")
    max_utterance_s: float = Field(30.0, gt=1, description="An utterance is cut here even without a pause.")
    pre_roll_ms: int = Field(300, ge=0, le=2000,
                             description="Audio kept from before speech onset, so first syllables survive.")
    min_speech_ratio: float = Field(
        0.2, ge=0, le=1, description="Utterances where the VAD heard less speech than this are not answered.")
    barge_in: bool = Field(True, description="Stop speaking as soon as the user starts talking.")
    half_duplex: bool = Field(
        False, description="Don't listen while speaking: for laptop speakers when echo cancellation is off.")
    echo_cancellation: bool | Literal["auto"] = Field(
        "auto", description="Remove the assistant's own voice from the microphone (WebRTC AEC3 and a "
                            "double-talk guard, needs the `livekit` package), so barge-in works on laptop "
                            "speakers without half_duplex. `auto`: on where microphone and speaker are on "
                            "one sound card (a laptop) or on two, off for headphones and where the "
                            "devices can't be told apart; `true`/`false` force it.")
    noise_suppression: bool = Field(
        True, description="With echo_cancellation: also suppress steady background noise (WebRTC).")
    auto_gain_control: bool = Field(
        False, description="With echo_cancellation: also level the microphone (WebRTC AGC2).")
    echo_delay_ms: int = Field(
        40, ge=0, le=500, description="First guess of the speaker-to-microphone delay; AEC3 then finds it itself.")
    cues: bool = Field(True, description="Short sounds when the assistant starts listening and starts thinking.")
    cue_volume: float = Field(0.3, ge=0, le=1, description="Loudness of the cues (0–1).")

    @model_validator(mode="after")
    def _combined_order(self) -> "AudioSettings":
        if self.end_of_turn == "combined" and not (
                self.smart_turn_silence_ms <= self.combined_short_ms <= self.combined_mid_ms <= self.combined_long_ms):
            raise ValueError("end_of_turn: combined needs smart_turn_silence_ms <= combined_short_ms <= "
                             f"combined_mid_ms <= combined_long_ms (got {self.smart_turn_silence_ms}, "
                             f"{self.combined_short_ms}, {self.combined_mid_ms}, {self.combined_long_ms})")
        return self
