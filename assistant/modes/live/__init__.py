"""Live mode: microphone -> endpointing -> the turn engine -> speaker, with captions."""
