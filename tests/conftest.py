"""Shared fixtures. Tiny models are built once per session by the fixture plugins below."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

pytest_plugins = ["tests.support.fixtures_stt", "tests.support.fixtures_llm", "tests.support.fixtures_tts",
                  "tests.support.fixtures_audio"]
