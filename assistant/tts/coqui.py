"""Coqui TTS voices (package ``coqui-tts``): VITS, YourTTS, XTTS, the Fairseq MMS voices, ...

``model`` is a Coqui model name (``tts_models/<language>/<dataset>/<model>``, downloaded on first
use into Coqui's cache: ``$TTS_HOME/tts``, else ``~/.local/share/tts``; Hugging Face-hosted ones
such as XTTS into the Hugging Face cache) or a local checkpoint file or directory plus its
``config.json``. Nothing heavy is imported until ``load()``.
"""

from __future__ import annotations

import inspect
import logging
from pathlib import Path
from typing import Any, Iterator, Literal

import numpy as np
from pydantic import Field

from assistant.core.errors import (
    AssistantError,
    ConfigError,
    MissingDependencyError,
    ModelNotFoundError,
    NoVoiceError,
    StageError,
)
from assistant.core.model_entry import ModelEntry, entry
from assistant.core.options import BackendOptions, Device, resolve_device
from assistant.core.types import AudioChunk

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 5.0  # how long load() waits to learn that the download host is unreachable

# ISO 639-3 and 639-2/B codes (as in Fairseq MMS names, "tts_models/deu/fairseq/vits") for
# Whisper's languages, mapped to Whisper's codes. Generated from Debian's iso-codes tables, plus
# individual-language codes MMS uses for macrolanguages (swh, zlm, pes, ...).
_ISO3 = dict(pair.split(":") for pair in """
afr:af amh:am ara:ar arb:ar asm:as aze:az azj:az bak:ba bel:be bul:bg ben:bn bod:bo tib:bo bre:br
bos:bs cat:ca ces:cs cze:cs cym:cy wel:cy dan:da deu:de ger:de ell:el gre:el eng:en spa:es est:et
ekk:et eus:eu baq:eu fas:fa per:fa pes:fa fin:fi fao:fo fra:fr fre:fr glg:gl guj:gu hau:ha heb:he
hin:hi hrv:hr hat:ht hun:hu hye:hy arm:hy ind:id isl:is ice:is ita:it jpn:ja jav:jw kat:ka geo:ka
kaz:kk khm:km kan:kn kor:ko lat:la ltz:lb lin:ln lao:lo lit:lt lav:lv lvs:lv mlg:mg plt:mg mri:mi
mao:mi mkd:mk mac:mk mal:ml mon:mn khk:mn mar:mr msa:ms may:ms zlm:ms mlt:mt mya:my bur:my nep:ne
npi:ne nld:nl dut:nl nno:nn nor:no nob:no oci:oc pan:pa pol:pl pus:ps pbt:ps por:pt ron:ro rum:ro
rus:ru san:sa snd:sd sin:si slk:sk slo:sk slv:sl sna:sn som:so sqi:sq alb:sq srp:sr sun:su swe:sv
swa:sw swh:sw tam:ta tel:te tgk:tg tha:th tuk:tk tgl:tl fil:tl tur:tr tat:tt ukr:uk urd:ur uzb:uz
uzn:uz vie:vi yid:yi yor:yo zho:zh chi:zh cmn:zh yue:yue haw:haw
""".split())
_ALIASES = {"jv": "jw", "nb": "no", "iw": "he", "in": "id"}  # other spellings of Whisper's codes


def normalise_language(code: str) -> str:
    """A language code as Whisper writes it: ``zh-CN`` → ``zh``, ``fr-fr`` → ``fr``, ``deu`` → ``de``."""
    primary = code.strip().lower().replace("_", "-").split("-")[0]
    primary = _ISO3.get(primary, primary)
    return _ALIASES.get(primary, primary)


class CoquiOptions(BackendOptions):
    backend: Literal["coqui"] = "coqui"
    model: str = Field(description="Coqui model name (e.g. 'tts_models/en/ljspeech/vits'; `tts --list_models` "
                                   "lists them) or a local checkpoint file or directory")
    config: str | None = Field(None, description="config.json of a local model (default: the one beside it)")
    speaker: str | None = Field(None, description="speaker of a multi-speaker model (default: its first)")
    language: str | None = Field(None, description="language id of a multilingual model (e.g. XTTS 'zh-cn'); "
                                                   "unset: the reply's language, matched to the model's list")
    device: Device = Field("auto", description="auto: CUDA when torch sees a GPU, else CPU")
    speed: float = Field(1.0, gt=0.1, le=5.0, description="speaking-rate factor, where the model supports it")
    warmup: bool = Field(False, description="synthesize one short sentence at load, so the first reply is fast")


class CoquiTTS:
    def __init__(self, options: CoquiOptions) -> None:
        self.options = options
        self._tts: Any = None  # TTS.api.TTS once loaded
        self._speaker: str | None = None
        self._extra: dict[str, Any] = {}  # per-call keyword arguments (speed, for models that take it)

    # -- loading -------------------------------------------------------------------------------

    def load(self) -> None:
        from assistant.tts.torchaudio_compat import import_tts, torchaudio_standins

        tts_class = import_tts()
        name, model_path, config_path = self._locate()
        device = resolve_device(self.options.device)
        what = name or str(model_path)
        try:
            with torchaudio_standins():
                if name:
                    tts = tts_class(name, progress_bar=True)
                else:
                    tts = tts_class(model_path=str(model_path), config_path=str(config_path), progress_bar=False)
                tts.to(device)
        except AssistantError:
            raise
        except ImportError as error:
            raise MissingDependencyError(
                f"coqui model '{what}' needs a package that is not installed: {error}",
                "install it (pip install 'coqui-tts[languages]' has the phonemizers)") from error
        except Exception as error:  # a corrupt checkpoint, a config that doesn't match it, ...
            if name:
                self._raise_if_not_cached(name, error)
            raise StageError("tts", f"could not load coqui model '{what}': {type(error).__name__}: {error}") from error
        self._configure(tts)
        self._tts = tts
        if self.options.warmup:
            languages = self.model_languages
            list(self.synthesize("Hello.", self.options.language or (languages[0] if languages else "en")))

    def _locate(self) -> tuple[str | None, Path | None, Path | None]:
        """``(name, None, None)`` for a Coqui model name; ``(None, model, config)`` for local files."""
        model = self.options.model
        path = Path(model).expanduser()
        if not path.exists() and _is_model_name(model):
            self._check_downloadable(model)
            return model, None, None
        if not path.exists():
            raise ModelNotFoundError(
                f"coqui model '{model}' is neither a local file or directory nor a Coqui model name",
                "give a path to a checkpoint (.pth) with its config.json, or a name like "
                "tts_models/en/ljspeech/vits (`tts --list_models` lists them)")
        config = Path(self.options.config).expanduser() if self.options.config else \
            (path if path.is_dir() else path.parent) / "config.json"
        if not config.is_file():
            raise ModelNotFoundError(f"the config of coqui model '{model}' was not found at {config}",
                                     "set tts config: to the model's config.json")
        if path.is_dir():
            path = self._checkpoint_in(path)
        return None, path, config

    @staticmethod
    def _checkpoint_in(directory: Path) -> Path:
        """The checkpoint file in a model directory, found the way Coqui finds downloaded ones;
        the directory itself for models that load from one (XTTS, Bark, Tortoise)."""
        from TTS.utils.manage import ModelManager

        try:
            return Path(ModelManager._find_files(directory)[0])
        except (ValueError, AttributeError):
            return directory

    def _check_downloadable(self, name: str) -> None:
        """Fail fast, before Coqui starts a download that can't succeed (offline, licence)."""
        from TTS.utils.manage import ModelManager

        manager = ModelManager(progress_bar=False)
        cache = Path(manager.output_prefix)
        names = [name]
        while names:
            current = names.pop()
            try:
                item, full_name, _ = manager._set_model_item(current)
            except (KeyError, ValueError):
                raise ModelNotFoundError(f"'{current}' is not a Coqui model name",
                                         "`tts --list_models` lists the names") from None
            if item.get("tos_required") and not manager.tos_agreed(item, cache / full_name):
                raise ModelNotFoundError(
                    f"coqui model '{current}' needs you to accept its licence (Coqui CPML) first",
                    "read https://coqui.ai/cpml and set the environment variable COQUI_TOS_AGREED=1")
            if item.get("default_vocoder"):
                names.append(item["default_vocoder"])
            problem = _download_problem(item, cache / full_name)
            if problem:
                where, url, why = problem
                raise ModelNotFoundError(
                    f"coqui model '{current}' is not in the cache ({where}) and can't be downloaded "
                    f"from {url}: {why}",
                    f"on a connected machine run `tts --model_name {current} --text hi --out_path /tmp/x.wav` "
                    f"and copy what it stores in {where} to this machine, or set tts model/config to local files")

    @staticmethod
    def _raise_if_not_cached(name: str, error: Exception) -> None:
        import requests

        if isinstance(error, (requests.RequestException, FileNotFoundError)) or \
                "not found in the output path" in str(error):
            from TTS.utils.manage import ModelManager

            cache = ModelManager(progress_bar=False).output_prefix
            raise ModelNotFoundError(
                f"coqui model '{name}' could not be downloaded or is incomplete in {cache}: {error}",
                f"delete its folder under {cache} and load again on a connected machine "
                f"(`tts --model_name {name} --text hi --out_path /tmp/x.wav`)") from error

    def _configure(self, tts: Any) -> None:
        """Choose the speaker and how speed is applied, once, after loading."""
        speakers = tts.speakers if tts.is_multi_speaker else None
        if self.options.speaker and not speakers:
            raise ConfigError([f"tts.speaker: coqui model '{self.options.model}' has only one speaker; "
                               "remove speaker"])
        if self.options.speaker and self.options.speaker not in speakers:
            raise ConfigError([f"tts.speaker: '{self.options.speaker}' is not a speaker of coqui model "
                               f"'{self.options.model}' (some of its speakers: {', '.join(speakers[:10])})"])
        self._speaker = self.options.speaker or (speakers[0] if speakers else None)
        if speakers and not self.options.speaker:
            log.info("coqui model %s: no speaker configured, using '%s'", self.options.model, self._speaker)
        speed = self.options.speed
        model = tts.synthesizer.tts_model
        if speed != 1.0:
            if "speed" in inspect.signature(model.inference).parameters:  # XTTS
                self._extra = {"speed": speed}
            elif hasattr(model, "length_scale"):  # VITS, Glow-TTS: longer durations = slower
                model.length_scale = model.length_scale / speed
            else:
                log.warning("coqui model %s has no speed control; speed %.2f is ignored", self.options.model, speed)

    # -- per turn --------------------------------------------------------------------------------

    @property
    def sample_rate(self) -> int:
        if self._tts is None:
            raise StageError("tts", "the coqui voice's sample rate is known once it is loaded", "call load() first")
        return int(self._tts.synthesizer.output_sample_rate)

    @property
    def model_languages(self) -> list[str] | None:
        """The language ids of a loaded multilingual model (e.g. ['en', 'fr-fr', 'pt-br']), else None."""
        if self._tts is None or not self._tts.is_multi_lingual:
            return None
        return list(self._tts.languages or [])

    def _model_language_for(self, language: str) -> str | None:
        wanted = normalise_language(language)
        return next((lang for lang in self.model_languages or [] if normalise_language(lang) == wanted), None)

    def supports(self, language: str) -> bool | None:
        if self.options.language:
            return normalise_language(self.options.language) == normalise_language(language)
        parts = self.options.model.split("/")
        if _is_model_name(self.options.model) and parts[1] != "multilingual" \
                and not Path(self.options.model).exists():
            return normalise_language(parts[1]) == normalise_language(language)
        if self.model_languages:
            return self._model_language_for(language) is not None
        return None  # a single-language local model, or a multilingual one not loaded yet

    def synthesize(self, text: str, language: str) -> Iterator[AudioChunk]:
        if not text.strip():
            return
        if self._tts is None:
            raise StageError("tts", f"coqui voice '{self.options.model}' is not loaded", "call load() first")
        kwargs: dict[str, Any] = dict(self._extra)
        if self._speaker:
            kwargs["speaker"] = self._speaker
        if self.model_languages:
            model_language = self.options.language or self._model_language_for(language)
            if model_language is None:
                raise NoVoiceError(language, f"coqui model '{self.options.model}' speaks "
                                             f"{', '.join(self.model_languages)}")
            kwargs["language"] = model_language
        try:
            wav = self._tts.tts(text, **kwargs)
        except Exception as error:  # the orchestrator decides what a failed sentence means
            raise StageError("tts", f"coqui model '{self.options.model}' failed on {text[:40]!r}: "
                                    f"{type(error).__name__}: {error}") from error
        samples = np.asarray(wav, dtype=np.float32).reshape(-1)
        if samples.size:
            yield AudioChunk(np.clip(samples, -1.0, 1.0), self.sample_rate)


def _is_model_name(model: str) -> bool:
    parts = model.split("/")
    return len(parts) == 4 and parts[0] == "tts_models" and all(parts)


def _download_problem(item: dict, directory: Path) -> tuple[str, str, str] | None:
    """None when the model is cached or its host answers; else (cache dir, URL, why not)."""
    if "repo_id" in item:  # hosted on the Hugging Face hub, cached there
        from huggingface_hub import constants, snapshot_download

        try:
            snapshot_download(item["repo_id"], allow_patterns=item.get("allow"),
                              ignore_patterns=item.get("ignore"), local_files_only=True)
            return None
        except Exception:  # not (completely) cached
            pass
        url = f"{constants.ENDPOINT}/{item['repo_id']}"
        if constants.HF_HUB_OFFLINE:
            return constants.HF_HUB_CACHE, url, "HF_HUB_OFFLINE is set"
        why = _unreachable(url)
        return (constants.HF_HUB_CACHE, url, why) if why else None
    if directory.is_dir() and any(directory.iterdir()):
        return None
    url = item.get("github_rls_url") or "https://dl.fbaipublicfiles.com/mms/tts/"  # Fairseq MMS voices
    url = url[0] if isinstance(url, list) else url
    why = _unreachable(url)
    return (str(directory), url, why) if why else None


def _unreachable(url: str) -> str | None:
    """None when ``url``'s host answers within PROBE_TIMEOUT_S (any HTTP status); else why not.

    Coqui's own download has no timeout, so on a machine whose network drops packets it would
    hang; this probe makes load() fail in seconds.
    """
    from assistant.core import hub

    why = hub.unreachable_reason(url, timeout=PROBE_TIMEOUT_S)
    return f"{why}; offline?" if why else None


# ----------------------------------------------------------------------------- the model (assistant models)

def coqui_cache() -> Path:
    """Coqui's model cache, as its ``get_user_data_dir("tts")`` computes it on Linux/macOS."""
    import os

    if os.environ.get("TTS_HOME"):
        return Path(os.environ["TTS_HOME"]).expanduser() / "tts"
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]).expanduser() / "tts"
    if os.uname().sysname == "Darwin":
        return Path.home() / "Library" / "Application Support" / "tts"
    return Path.home() / ".local" / "share" / "tts"


def model_entry(o: CoquiOptions, stage: str) -> ModelEntry:
    """A Coqui model name (``tts_models/<language>/<dataset>/<model>``): Coqui's cache; else a path."""
    from assistant.core import hub

    path = Path(o.model).expanduser()
    parts = o.model.split("/")
    if path.exists() or not (len(parts) == 4 and parts[0] == "tts_models"):
        return entry(stage, "coqui", o.model, path, path.exists(), True, None)
    cached = coqui_cache() / o.model.replace("/", "--")
    present = cached.is_dir() and any(cached.iterdir())
    return entry(stage, "coqui", o.model, cached, present, False, hub.COQUI_HOST)


def fetch(e: ModelEntry, options: CoquiOptions) -> str:
    from assistant.tts.torchaudio_compat import import_tts

    import_tts()
    from TTS.utils.manage import ModelManager

    path, _config, _item = ModelManager(progress_bar=True).download_model(e.name)
    return str(path)
