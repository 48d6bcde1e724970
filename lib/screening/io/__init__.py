"""io layer."""

from screening.io.pool import choose_memory_pool

# Every route reads through this layer (in-memory, the panel, Dask workers importing the package): set the pool here.
choose_memory_pool()
