"""Seed-compatible names: ``podtask.sdk.tasks`` and ``podtask.sdk.types``."""
