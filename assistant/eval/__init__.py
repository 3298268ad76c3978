"""Quality measured on real speech: ``assistant eval stt`` (WER, language ID, speed on a folder of
recordings with reference transcripts) and ``assistant eval voices`` (round-trip intelligibility
of every configured voice). The command-line wrappers are in ``assistant/cli/eval.py``."""
