"""Other ways to compute the same funnel, for the benchmark and as test oracles.

``naive`` loops over patients with ``DataFrame.apply``; ``sql`` writes the
protocol as DuckDB SQL. Both must agree with the vectorised engine exactly.
"""
