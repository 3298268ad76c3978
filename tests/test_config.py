from pathlib import Path

import pytest

from assistant.config import DEFAULT_VOICES, dump_yaml, load_config, parse_override
from assistant.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text, name="c.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("path", sorted((ROOT / "configs").glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_config_validates_and_round_trips(path, tmp_path):
    cfg = load_config(path)
    assert cfg.stt.backend and cfg.llm.backend
    again = load_config(write(tmp_path, dump_yaml(cfg)))  # what `config show` prints loads back
    assert again.to_dict() == cfg.to_dict()


def test_defaults_equal_default_yaml():
    assert load_config(None).to_dict() == load_config(ROOT / "configs/default.yaml").to_dict()


def test_defaults():
    cfg = load_config(None)
    assert cfg.stt.backend == "whisper" and cfg.llm.backend == "transformers"
    assert set(cfg.tts.voices) == set(DEFAULT_VOICES)
    assert cfg.tts.fallback.backend == "espeak"


def test_override_types_and_nesting(tmp_path):
    cfg = load_config(None, ["stt.model=base", "stt.beam_size=3", "llm.temperature=0", "language.languages=[de, en]"])
    assert cfg.stt.model == "base" and cfg.stt.beam_size == 3
    assert cfg.llm.temperature == 0
    assert cfg.language.languages == ("de", "en")


def test_override_switches_backend():
    cfg = load_config(None, ["llm.backend=openai", "llm.base_url=http://localhost:8000/v1"])
    assert cfg.llm.backend == "openai" and cfg.llm.base_url == "http://localhost:8000/v1"


def test_bad_override_is_named():
    with pytest.raises(ConfigError) as e:
        load_config(None, ["stt.beam_size=many"])
    assert "--set stt.beam_size" in str(e.value)
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_override("stt.model")


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    p = write(tmp_path, "stt:\n  model: small\n  device: [cpu\nllm: {}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg and "YAML syntax error" in msg
    assert f"{p}:4" in msg or f"{p}:3" in msg


def test_every_problem_is_reported_with_lines(tmp_path):
    p = write(tmp_path, "stt:\n  model: small\n  beam_size: five\n  colour: red\nllm:\n  backend: gpt\n"
                        "language:\n  min_probability: 2\nbogus: 1\n")
    with pytest.raises(ConfigError) as e:
        load_config(p)
    problems = e.value.problems
    joined = "\n".join(problems)
    assert len(problems) == 5, joined
    assert f"{p}:3: stt.beam_size" in joined
    assert f"{p}:4: stt.colour: unknown key" in joined
    assert "unknown llm backend 'gpt' (valid: ctranslate2, onnxruntime-genai, openai, transformers)" in joined
    assert f"{p}:8: language.min_probability" in joined
    assert f"{p}:9: bogus: unknown key" in joined


def test_unknown_tts_backend_lists_valid(tmp_path):
    p = write(tmp_path, "tts:\n  voices:\n    de: {backend: festival}\n")
    with pytest.raises(ConfigError, match=r"valid: coqui, espeak, openai, pico, piper"):
        load_config(p)


def test_unknown_language_codes(tmp_path):
    p = write(tmp_path, "language:\n  languages: [german]\n")
    with pytest.raises(ConfigError, match="language"):
        load_config(p)
    with pytest.raises(ConfigError, match="not a language code"):
        load_config(write(tmp_path, "tts:\n  voices:\n    xx: {backend: espeak}\n", "d.yaml"))


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_empty_file_means_defaults(tmp_path):
    assert load_config(write(tmp_path, "")).to_dict() == load_config(None).to_dict()


def test_config_is_frozen():
    cfg = load_config(None)
    with pytest.raises((AttributeError, ValueError)):  # pydantic's frozen-instance ValidationError
        cfg.stt.model = "tiny"


def test_backend_switch_override_drops_the_old_backends_options(tmp_path):
    p = write(tmp_path, "llm:\n  backend: transformers\n  max_new_tokens: 32\n")
    cfg = load_config(p, ["llm.base_url=http://h:1/v1", "llm.backend=openai"])
    assert cfg.llm.backend == "openai" and cfg.llm.base_url == "http://h:1/v1"
    assert load_config(p, ["llm.backend=transformers"]).llm.max_new_tokens == 32  # same backend: kept
