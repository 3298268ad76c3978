"""Spoken questions per language (YAML), read by ``assistant.eval.questions``."""
