"""``assistant bench``: time every stage's backends on the same work, like for like.

No model hub is reachable on the machines this runs on, so each stage builds random-weight
models at the real sizes (the compute of the published models) from one seed, and each
backend gets the same weights, the same audio and the same number of decoded tokens.
Modules: ``common`` (settings, timing, model cache), ``stt``, ``llm``, ``tts``, ``turn`` (one
full turn), ``report`` (table and JSON), ``models`` (the random-weight builders, also used by
the tests at tiny sizes).
"""
