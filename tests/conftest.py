"""Shared fixtures. Tiny models are built once per session by the fixture plugins below."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.fixtures_stt", "tests.fixtures_llm", "tests.fixtures_tts", "tests.fixtures_audio"]
