"""Arrow's memory pool, chosen on purpose when the package is imported (so Dask workers and the panel get it too).

Measured on Linux (2 shared cores, pyarrow 26, issue 24), ours end to end from the
Parquet files to the funnel tables, first load, CPU seconds (user + system) of fresh
processes:

=========  ==========================  ==========================
pool       1M patients, load 3-7       1M, load 14-15 (100k, median of 3)
=========  ==========================  ==========================
mimalloc   8.23                        8.04 (1.75)
jemalloc   9.75                        8.80 (1.69)
system     9.67                        9.90 (1.83)
=========  ==========================  ==========================

mimalloc is the cheapest at 1M and level with the others at 100k, so it is set
explicitly rather than left to whichever pool a pyarrow build defaults to.
A user who sets ``ARROW_DEFAULT_MEMORY_POOL`` (``mimalloc``, ``jemalloc`` or
``system``) keeps that choice: pyarrow itself honours it, and we leave it alone.
"""

from __future__ import annotations

import os

import pyarrow as pa

PREFERRED = "mimalloc"


def choose_memory_pool(environ=os.environ) -> str:
    """Set Arrow's default pool to mimalloc unless the user named one; return the pool in use.

    >>> choose_memory_pool() in ("mimalloc", "jemalloc", "system")
    True
    """
    if not environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        try:
            pa.set_memory_pool(pa.mimalloc_memory_pool())
        except NotImplementedError:  # a pyarrow built without mimalloc: keep its own default
            pass
    return pa.default_memory_pool().backend_name
