"""Speech-to-text stage: ``base.py`` holds the interface, one file per backend."""
