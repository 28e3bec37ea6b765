"""ued: unsupervised environment design in JAX.

Importing the package turns off XLA's concurrency-optimised CPU scheduler (unless ``XLA_FLAGS``
already names it): with it, LPO's jitted generation on the MinAtar games deadlocked
intermittently in XLA's CPU runtime on JAX 0.10.2 (every thread idle, the host waiting on the
result; two runs in three of a one-generation chunk), and without it none did. It takes effect
only if JAX's CPU backend has not started yet, so import ``ued`` before running computations.
"""

import os as _os

_FLAG = "--xla_cpu_enable_concurrency_optimized_scheduler"
if _FLAG not in _os.environ.get("XLA_FLAGS", ""):
    _os.environ["XLA_FLAGS"] = f"{_os.environ.get('XLA_FLAGS', '')} {_FLAG}=false".strip()
