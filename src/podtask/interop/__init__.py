"""Bridges to other workflow systems' formats (Flyte today).

Each bridge imports its system's libraries lazily, inside the functions that
need them: ``import podtask`` must never pay for them, and the core install
does not have them (``pip install 'podtask[flyte]'``).
"""
