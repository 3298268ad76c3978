"""Text-to-speech stage: ``base.py`` holds the interface, one file per backend,
``voices.py`` chooses a voice per language."""
