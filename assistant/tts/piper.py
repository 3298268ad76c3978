"""Piper voices (VITS exported to ONNX): natural speech in ~40 languages, fast on a CPU.

``model`` is a voice name from the Piper voices repository (``de_DE-thorsten-medium``: locale,
dataset, quality), found in the starter pack, then in the Hugging Face cache, else downloaded on
first use from ``rhasspy/piper-voices`` (``{family}/{locale}/{dataset}/{quality}/{name}.onnx`` and
its ``.onnx.json``); or a local ``.onnx`` file with its ``.onnx.json`` beside it.

Why not the ``piper-tts`` package: it is GPL-3.0 (it links espeak-ng into its Python extension),
which this MIT project would have to adopt or keep as an optional extra. Piper's engine is small:
text → espeak-ng IPA phonemes → ids from the voice's ``phoneme_id_map`` → one ONNX call. So the
ONNX runs here under onnxruntime (already a dependency, for the voice-activity detector), and the
phonemes come from the ``espeak-ng`` *program*, called as the ``espeak`` backend calls it: running
a GPL program is not linking it, and the voices (CC0 / CC-BY / MIT, see each MODEL_CARD) stay
what they are.

How piper 1.x phonemizes, and how this file matches it through the program:
- piper calls its patched ``espeak_TextToPhonemesWithTerminator`` (IPA, no separators) clause
  by clause; each clause's phonemes get the clause's punctuation (``. , ? ! : ;``) appended,
  plus a space after ``, : ;``; ``.``, ``?`` and ``!`` end a sentence, and each sentence is
  synthesized on its own. ``(en)``-style language-switch flags are removed.
- ``espeak-ng -q --ipa`` prints the same IPA per clause, one line each, but drops the
  punctuation, so it is recovered from the text: the text is split at clause punctuation as
  espeak-ng splits it (punctuation followed by a space or the end) and, when espeak-ng printed
  one line per clause, each line gets its clause's mark; when the counts differ (an
  abbreviation, a very long clause) each clause is phonemized on its own. A dash between words
  ends a clause with ``;`` as in piper; an ellipsis is a pause (``,``) where piper's espeak-ng
  glues the words on either side together.
- the IPA string is NFD-decomposed into code points, so combining marks (nasal ``̃``, syllabic
  ``̩``, ...) are symbols of their own, as in the voices' ``phoneme_id_map``; optional
  ``vowel_clusters`` are merged back.
- ids: ``^`` (BOS), then each symbol's ids followed by ``_`` (PAD), then ``$`` (EOS); symbols
  the voice does not know are dropped (piper logs and drops them too).
Given the same ids (and no noise) the audio equals piper-tts 1.8.0's to the last bit (checked by
hand). The espeak-ng installed here (1.51) is older than the one inside piper-tts 1.8, so a few
words may be phonemized differently; tests/tts/test_tts_piper.py compares with piper's own output.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np
from pydantic import Field, field_validator

from assistant.core.errors import AssistantError, ConfigError, MissingDependencyError, ModelNotFoundError, StageError
from assistant.core.hub import starter_dir
from assistant.core.model_entry import ModelEntry, entry
from assistant.core.options import BackendOptions, Device
from assistant.core.types import AudioChunk

log = logging.getLogger(__name__)

REPO_ID = "rhasspy/piper-voices"
BOS, EOS, PAD = "^", "$", "_"
# The voice per language that the default voice map prefers when its files are present
# (CC0 or CC-BY voices of the Piper voices repository, medium quality).
PREFERRED_VOICES = {
    "en": "en_US-joe-medium",  # CC0; the starter pack's voice
    "de": "de_DE-thorsten-medium",
    "es": "es_ES-davefx-medium",
    "fr": "fr_FR-siwis-medium",
    "pt": "pt_BR-faber-medium",
    "nl": "nl_BE-nathalie-medium",
    "it": "it_IT-paola-medium",
    "pl": "pl_PL-darkman-medium",
}
_VOICE_NAME = re.compile(r"^(?P<family>[a-z]{2,3})_(?P<region>[A-Za-z0-9]+)-(?P<dataset>[^-/\\]+)-"
                         r"(?P<quality>x_low|low|medium|high)$")
# Clause punctuation as espeak-ng ends a clause on it: followed by a space (or closing quotes and
# brackets, then a space) or by the end of the text. "3.5" and "1,000" are not clause ends.
_CLAUSE_END = re.compile(r"([.!?,;:…—–]+)[\"'”’»)\]]*(?=\s|$)")
_SENTENCE_MARKS = {".", "?", "!"}
_LANGUAGE_FLAG = re.compile(r"\([^)]*\)")


class PiperOptions(BackendOptions):
    backend: Literal["piper"] = "piper"
    model: str = Field(description="Piper voice name (e.g. 'de_DE-thorsten-medium', downloaded on first use from "
                                   "the Hugging Face repository rhasspy/piper-voices) or a local .onnx file "
                                   "with its .onnx.json beside it")
    speaker: str | int | None = Field(None, description="speaker of a multi-speaker voice: a name from its "
                                                        "speaker_id_map or a number (default: its first)")
    speed: float = Field(1.0, gt=0.1, le=5.0, description="speaking-rate factor (divides the voice's length_scale)")
    noise_scale: float | None = Field(None, ge=0, le=2, description="generator noise (unset: the voice's own, "
                                                                    "usually 0.667)")
    noise_w: float | None = Field(None, ge=0, le=2, description="phoneme-duration noise (unset: the voice's own, "
                                                                "usually 0.8)")
    device: Device = Field("auto", description="auto: onnxruntime's CUDA provider when it has one, else CPU")
    threads: int = Field(0, ge=0, le=256, description="onnxruntime threads per synthesis; 0: one per CPU core")
    executable: str = Field("espeak-ng", description="the espeak-ng program that phonemizes the text")
    warmup: bool = Field(False, description="synthesize one short sentence at load, so the first reply is fast")

    @field_validator("model")
    @classmethod
    def _name_or_onnx(cls, model: str) -> str:
        # Only the form is checked here: a config stays loadable while the file is absent.
        if not (is_voice_name(model) or model.endswith(".onnx")):
            raise ValueError(f"'{model}' is neither a Piper voice name (locale-dataset-quality, e.g. "
                             "de_DE-thorsten-medium) nor a path to a .onnx voice")
        return model


# -- finding the voice files ----------------------------------------------------------------------



def repo_path(name: str) -> str:
    """``de_DE-thorsten-medium`` → ``de/de_DE/thorsten/medium/de_DE-thorsten-medium.onnx``."""
    match = _VOICE_NAME.match(name)
    if not match:
        raise ConfigError([f"tts.model: '{name}' is neither a local .onnx file nor a Piper voice name"],
                          "voice names look like de_DE-thorsten-medium (locale-dataset-quality); "
                          "https://huggingface.co/rhasspy/piper-voices lists them")
    family, region, dataset, quality = match.group("family", "region", "dataset", "quality")
    locale = f"{family}_{region}"
    return f"{family}/{locale}/{dataset}/{quality}/{name}.onnx"


def is_voice_name(model: str) -> bool:
    return bool(_VOICE_NAME.match(model))


def find_local(model: str) -> Path | None:
    """The voice's .onnx if it is on this machine (a path, the starter pack, the HF cache); no network."""
    path = Path(model).expanduser()
    if path.suffix == ".onnx" or not is_voice_name(model):
        return path if path.is_file() else None
    starter = starter_dir() / "piper" / f"{model}.onnx"
    if starter.is_file() and Path(f"{starter}.json").is_file():
        return starter
    from huggingface_hub import try_to_load_from_cache

    found = [try_to_load_from_cache(REPO_ID, repo_path(model) + suffix, cache_dir=_hf_hub_cache())
             for suffix in ("", ".json")]
    if all(isinstance(f, str) for f in found):
        return Path(found[0])
    return None


def _download(name: str) -> Path:
    from huggingface_hub import constants, hf_hub_download

    from assistant.core import hub

    offline = hub.is_offline()
    fix = (f"on a connected machine run `hf download {REPO_ID} {repo_path(name)} {repo_path(name)}.json` and "
           f"copy the Hugging Face cache ({_hf_hub_cache()}) here, or set the voice's model to a local "
           f".onnx file (with its .onnx.json beside it)")
    if offline or not hub.hub_reachable(constants.ENDPOINT):
        why = "HF_HUB_OFFLINE is set" if offline else f"{constants.ENDPOINT} is unreachable"
        raise ModelNotFoundError(f"piper voice '{name}' is not in the starter pack ({starter_dir() / 'piper'}) "
                                 f"or the Hugging Face cache, and can't be downloaded: {why}", fix)
    try:
        hf_hub_download(REPO_ID, repo_path(name) + ".json", cache_dir=_hf_hub_cache())  # small file first:
        return Path(hf_hub_download(REPO_ID, repo_path(name), cache_dir=_hf_hub_cache()))  # a wrong name fails fast
    except Exception as error:  # huggingface_hub raises a family of errors (not found, network, auth)
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ModelNotFoundError(f"cannot fetch piper voice '{name}' from {REPO_ID}: {first}",
                                 f"check the name (https://huggingface.co/{REPO_ID} lists them), or {fix}") from error


def locate(model: str) -> tuple[Path, Path]:
    """The voice's (.onnx, .onnx.json), downloading a named voice if it is not on this machine."""
    found = find_local(model)
    path = Path(model).expanduser()
    if found is None and not is_voice_name(model):
        raise ModelNotFoundError(f"piper voice file not found: {path}",
                                 "give the path of a voice's .onnx (with its .onnx.json beside it), or a voice "
                                 "name such as en_US-joe-medium; `assistant models install starter` installs one")
    onnx = found or _download(model)
    config = Path(f"{onnx}.json")
    if not config.is_file():
        raise ModelNotFoundError(f"the config of piper voice '{model}' was not found: {config}",
                                 "put the voice's .onnx.json beside its .onnx (both come from the same folder "
                                 f"of https://huggingface.co/{REPO_ID})")
    return onnx, config


# -- the voice's config ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceConfig:
    """What synthesis needs from a voice's .onnx.json."""

    sample_rate: int
    espeak_voice: str
    phoneme_type: str
    phoneme_id_map: dict[str, list[int]]
    num_speakers: int = 1
    speaker_id_map: dict[str, int] = field(default_factory=dict)
    noise_scale: float = 0.667
    length_scale: float = 1.0
    noise_w: float = 0.8
    vowel_clusters: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def from_file(cls, path: Path) -> "VoiceConfig":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            inference = raw.get("inference") or {}
            return cls(sample_rate=int(raw["audio"]["sample_rate"]),
                       espeak_voice=str((raw.get("espeak") or {}).get("voice", "")),
                       phoneme_type=str(raw.get("phoneme_type", "espeak")),
                       phoneme_id_map={str(k): [int(i) for i in v] for k, v in raw["phoneme_id_map"].items()},
                       num_speakers=int(raw.get("num_speakers", 1)),
                       speaker_id_map={str(k): int(v) for k, v in (raw.get("speaker_id_map") or {}).items()},
                       noise_scale=float(inference.get("noise_scale", 0.667)),
                       length_scale=float(inference.get("length_scale", 1.0)),
                       noise_w=float(inference.get("noise_w", 0.8)),
                       vowel_clusters=tuple(tuple(c) for c in raw.get("vowel_clusters") or ()))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ModelNotFoundError(f"piper voice config {path} is unreadable or incomplete: "
                                     f"{type(error).__name__}: {error}",
                                     "download the voice's .onnx.json again") from error


# -- text → phonemes → ids ------------------------------------------------------------------------


def split_clauses(text: str) -> list[tuple[str, str]]:
    """``(clause text, its mark)`` where espeak-ng ends clauses; the mark is ``. , ? ! : ;`` or ''."""
    text = " ".join(text.split())
    clauses, start = [], 0
    for match in _CLAUSE_END.finditer(text):
        marks = match.group(1)
        mark = marks[0]
        if mark in "—–":  # a dash between words: piper's espeak-ng ends a clause with ';' there
            mark = ";"
        elif mark == "…" or marks.startswith(".."):  # an ellipsis: a pause mid-text, nothing at the end
            mark = "" if match.end() == len(text) else ","  # (piper glues the words together instead)
        clauses.append((text[start:match.start(1)].strip(), mark))
        start = match.end()
    if text[start:].strip():
        clauses.append((text[start:].strip(), ""))
    return [(words, mark) for words, mark in clauses if words]


def clause_symbols(ipa: str, mark: str) -> list[str]:
    """One clause's IPA (+ its mark) as piper's symbols: NFD code points, language flags removed."""
    ipa = _LANGUAGE_FLAG.sub("", ipa).strip()
    if mark:
        ipa += mark + (" " if mark in ",:;" else "")
    return list(unicodedata.normalize("NFD", ipa))


def merge_vowel_clusters(symbols: list[str], clusters: tuple[tuple[str, ...], ...]) -> list[str]:
    if not clusters:
        return symbols
    known, longest = set(clusters), max(len(c) for c in clusters)
    out, i = [], 0
    while i < len(symbols):
        for n in range(min(longest, len(symbols) - i), 1, -1):
            if tuple(symbols[i:i + n]) in known:
                out.append("".join(symbols[i:i + n]))
                i += n
                break
        else:
            out.append(symbols[i])
            i += 1
    return out


def group_sentences(clauses: list[tuple[str, list[str]]]) -> list[list[str]]:
    """Clauses ``(mark, symbols)`` → one symbol list per sentence (``.``, ``?``, ``!`` end one)."""
    sentences: list[list[str]] = []
    current: list[str] = []
    for mark, symbols in clauses:
        current.extend(symbols)
        if mark in _SENTENCE_MARKS:
            sentences.append(current)
            current = []
    if current:
        sentences.append(current)
    return [s for s in sentences if any(not c.isspace() for c in s)]


def phonemes_to_ids(symbols: list[str], id_map: dict[str, list[int]]) -> tuple[list[int], list[str]]:
    """Piper's ids: BOS, each known symbol then PAD, EOS. Returns (ids, symbols the voice lacks)."""
    ids = list(id_map[BOS]) + list(id_map[PAD])
    missing = []
    for symbol in symbols:
        if symbol not in id_map:
            missing.append(symbol)
            continue
        ids.extend(id_map[symbol])
        ids.extend(id_map[PAD])
    ids.extend(id_map[EOS])
    return ids, missing


class EspeakPhonemizer:
    """Text → IPA through the espeak-ng program (one run per text; per clause when needed)."""

    def __init__(self, program: str, voice: str) -> None:
        self.program, self.voice = program, voice

    def _ipa_lines(self, text: str) -> list[str]:
        # -q: no audio; --ipa: IPA, one line per clause; text on stdin (a leading "-" is never an
        # option); -b 1: the text is UTF-8.
        command = [self.program, "-q", "--ipa", "-b", "1", "-v", self.voice, "--stdin"]
        try:
            done = subprocess.run(command, input=text.encode("utf-8"), capture_output=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise StageError("tts", f"espeak-ng could not phonemize for piper: {error}") from error
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip() or f"exit status {done.returncode}"
            raise StageError("tts", f"espeak-ng could not phonemize with voice '{self.voice}': {message}")
        return [line.strip() for line in done.stdout.decode("utf-8", "replace").splitlines() if line.strip()]

    def phonemize(self, text: str) -> list[list[str]]:
        """Piper's symbols, one list per sentence."""
        clauses = split_clauses(text)
        if not clauses:
            return []
        lines = self._ipa_lines(" ".join(words + mark for words, mark in clauses))
        if len(lines) != len(clauses):  # espeak-ng split differently: one run per clause instead
            lines = [" ".join(self._ipa_lines(words)) for words, _ in clauses]
        return group_sentences([(mark, clause_symbols(ipa, mark)) for ipa, (_, mark) in zip(lines, clauses)])


# -- the voice ------------------------------------------------------------------------------------


class PiperTTS:
    def __init__(self, options: PiperOptions) -> None:
        self.options = options
        self.config: VoiceConfig | None = None
        self.model_path: Path | None = None
        self._session: Any = None  # onnxruntime.InferenceSession once loaded
        self._phonemizer: EspeakPhonemizer | None = None
        self._speaker_id: int | None = None

    def load(self) -> None:
        if self._session is not None:
            return
        onnx_path, config_path = locate(self.options.model)
        config = VoiceConfig.from_file(config_path)
        if config.phoneme_type == "espeak":
            program = shutil.which(self.options.executable)
            if program is None:
                raise MissingDependencyError(
                    f"piper voices need the program '{self.options.executable}' to phonemize, which was not found",
                    "install it: apt-get install espeak-ng (Debian/Ubuntu), brew install espeak-ng (macOS)")
            self._phonemizer = EspeakPhonemizer(program, config.espeak_voice)
        elif config.phoneme_type != "text":
            raise ConfigError([f"tts.model: piper voice '{self.options.model}' uses phoneme_type "
                               f"'{config.phoneme_type}', which needs piper-tts's own phonemizer"],
                              "choose a voice whose .onnx.json says phoneme_type espeak (most voices)")
        self._speaker_id = self._choose_speaker(config)
        self._session = self._open_session(onnx_path)
        self.config, self.model_path = config, onnx_path
        if self.options.warmup:
            list(self.synthesize("Hello.", "en"))

    def _choose_speaker(self, config: VoiceConfig) -> int | None:
        speaker = self.options.speaker
        if config.num_speakers <= 1:
            if speaker is not None:
                raise ConfigError([f"tts.speaker: piper voice '{self.options.model}' has only one speaker; "
                                   "remove speaker"])
            return None
        if speaker is None:
            return 0
        if isinstance(speaker, str) and speaker in config.speaker_id_map:
            return config.speaker_id_map[speaker]
        if isinstance(speaker, int) or str(speaker).isdigit():
            number = int(speaker)
            if 0 <= number < config.num_speakers:
                return number
        names = ", ".join(list(config.speaker_id_map)[:10])
        raise ConfigError([f"tts.speaker: '{speaker}' is not a speaker of piper voice '{self.options.model}' "
                           f"(speaker numbers 0-{config.num_speakers - 1}" + (f"; names: {names}" if names else "")
                           + ")"])

    def _open_session(self, onnx_path: Path) -> Any:
        import onnxruntime

        available = onnxruntime.get_available_providers()
        device = self.options.device
        if device == "cuda" and "CUDAExecutionProvider" not in available:
            raise AssistantError("tts device 'cuda' was configured but onnxruntime has no CUDA provider",
                                 "set device: auto or cpu, or install onnxruntime-gpu")
        providers = ["CPUExecutionProvider"]
        if device != "cpu" and "CUDAExecutionProvider" in available:
            providers.insert(0, "CUDAExecutionProvider")
        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = self.options.threads or _available_cores()
        session_options.inter_op_num_threads = 1
        try:
            return onnxruntime.InferenceSession(str(onnx_path), sess_options=session_options, providers=providers)
        except Exception as error:  # a truncated download, not an ONNX file, ...
            raise ModelNotFoundError(f"could not load piper voice {onnx_path}: {type(error).__name__}: "
                                     f"{str(error).strip()[:200]}",
                                     "the file is damaged: download the voice again") from error

    @property
    def sample_rate(self) -> int:
        if self.config is None:
            raise StageError("tts", "the piper voice's sample rate is known once it is loaded", "call load() first")
        return self.config.sample_rate

    def supports(self, language: str) -> bool | None:
        """A voice name says its language; a local file's config does, once loaded."""
        name = Path(self.options.model).name.removesuffix(".onnx")
        if self.config is not None and self.config.espeak_voice:
            voice_language = self.config.espeak_voice
        elif is_voice_name(name):
            voice_language = name.split("_")[0]
        else:
            return None
        from assistant.tts.coqui import normalise_language

        return normalise_language(voice_language) == normalise_language(language)

    def phonemize(self, text: str) -> list[list[str]]:
        if self.config is None:
            raise StageError("tts", f"piper voice '{self.options.model}' is not loaded", "call load() first")
        if self._phonemizer is None:  # phoneme_type text: the letters themselves
            sentences = [list(unicodedata.normalize("NFD", " ".join(text.split())))]
        else:
            sentences = self._phonemizer.phonemize(text)
        return [merge_vowel_clusters(s, self.config.vowel_clusters) for s in sentences]

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        if not text.strip():
            return
        if self._session is None:
            raise StageError("tts", f"piper voice '{self.options.model}' is not loaded", "call load() first")
        if self.supports(language) is False:
            log.debug("piper voice %s speaks %s, asked for %s", self.options.model, self.config.espeak_voice, language)
        for symbols in self.phonemize(text):
            ids, missing = phonemes_to_ids(symbols, self.config.phoneme_id_map)
            if missing:
                log.debug("piper voice %s lacks symbols %s; dropped", self.options.model, sorted(set(missing)))
            if len(ids) <= 3:  # nothing but BOS, PAD, EOS
                continue
            samples = self._run(ids, text)
            if samples.size:
                yield AudioChunk(samples, self.config.sample_rate)

    def _run(self, ids: list[int], text: str) -> np.ndarray:
        config, options = self.config, self.options
        scales = [config.noise_scale if options.noise_scale is None else options.noise_scale,
                  config.length_scale / options.speed,
                  config.noise_w if options.noise_w is None else options.noise_w]
        inputs = {"input": np.array([ids], dtype=np.int64),
                  "input_lengths": np.array([len(ids)], dtype=np.int64),
                  "scales": np.array(scales, dtype=np.float32)}
        if self._speaker_id is not None:
            inputs["sid"] = np.array([self._speaker_id], dtype=np.int64)
        try:
            audio = self._session.run(None, inputs)[0]
        except Exception as error:  # the orchestrator decides what a failed sentence means
            raise StageError("tts", f"piper voice '{options.model}' failed on {text[:40]!r}: "
                                    f"{type(error).__name__}: {error}") from error
        samples = np.asarray(audio, dtype=np.float32).reshape(-1)
        peak = float(np.max(np.abs(samples))) if samples.size else 0.0
        if peak > 1e-8:  # piper scales each sentence to full range; a little headroom here
            samples = samples * (0.95 / peak)
        return np.clip(samples, -1.0, 1.0).astype(np.float32)


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # honours taskset/cgroup CPU sets, unlike cpu_count
    except AttributeError:
        return os.cpu_count() or 1


def _hf_hub_cache() -> Path:
    """huggingface_hub's cache directory, worked out as it does (importing it costs 0.3 s)."""
    cache = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if cache:
        return Path(cache).expanduser()
    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "huggingface")
    return Path(home).expanduser() / "hub"


def is_present(name: str) -> bool:
    """Cheaply (for config loading): are the voice's files in the starter pack or the HF cache?"""
    starter = starter_dir() / "piper" / f"{name}.onnx"
    if starter.is_file() and Path(f"{starter}.json").is_file():
        return True
    snapshots = _hf_hub_cache() / f"models--{REPO_ID.replace('/', '--')}" / "snapshots"
    relative = repo_path(name)
    try:
        return any((snap / relative).is_file() and (snap / f"{relative}.json").is_file()
                   for snap in snapshots.iterdir())
    except OSError:
        return False


def default_voice(language: str) -> dict[str, str] | None:
    """The default voice map's Piper entry for ``language`` when its voice can run on this machine
    (its files are present, and so is the espeak-ng program that phonemizes for it)."""
    name = PREFERRED_VOICES.get(language)
    if name and is_present(name) and shutil.which("espeak-ng"):
        return {"backend": "piper", "model": name}
    return None


# ----------------------------------------------------------------------------- the model (assistant models)

def model_entry(o: PiperOptions, stage: str) -> ModelEntry:
    """A voice name: the starter pack or the HF cache (fetched from rhasspy/piper-voices); else a path."""
    from assistant.core import hub

    found = find_local(o.model)
    if not is_voice_name(o.model):
        return entry(stage, "piper", o.model, found or Path(o.model).expanduser(), found is not None, True, None)
    where = found or Path(f"hf:{REPO_ID}/{repo_path(o.model)}")
    return entry(stage, "piper", o.model, where, found is not None, False, hub.hf_endpoint())


def fetch(e: ModelEntry, options: PiperOptions) -> str:
    return str(_download(e.name))
