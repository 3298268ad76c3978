"""Audio in and out: files (``io.py``), resampling (``resample.py``), and for the live loop
capture, playback and voice-activity detection."""
