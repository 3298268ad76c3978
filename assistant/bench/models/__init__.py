"""Random-weight models of the real architectures, built offline.

For compute benchmarks (real sizes, `assistant bench`) and the tests (tiny sizes) on machines with
no model hub: one builder per architecture, the size a parameter, so neither copies the other.
They are loaded through exactly the code users run; their output is noise, never a feature.
"""
