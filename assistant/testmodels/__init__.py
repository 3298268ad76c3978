"""Random-weight models of the real architectures, built offline.

For tests (tiny sizes) and compute benchmarks (real sizes) on machines with no model hub.
They are loaded through exactly the code users run; their output is noise, never a feature.
"""
