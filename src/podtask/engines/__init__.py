"""podtask.engines."""
