"""QDBM's throughput benchmark: every path through the real pipeline beside its command-line pipe.

Run ``python -m bench --rows 1000000`` or ``make bench``; see docs/performance.md.
"""
