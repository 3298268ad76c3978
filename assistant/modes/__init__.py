"""The three ways to run a turn: file (``file``), live (``live``), server (``server``)."""
