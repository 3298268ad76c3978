"""Language-model stage: ``base.py`` holds the interface, one file per backend."""
