"""The benchmark harness (`make bench`): the service against what users would otherwise run.

Speed does not depend on weight values, so the models are the full-size SD 1.5 (and LCM)
architecture with random weights, built offline once under ``bench/cache/`` (git-ignored).
Each raw engine runs in its own subprocess and the service as its own uvicorn process, so
every peak RSS figure belongs to the one process that did the work.
"""
