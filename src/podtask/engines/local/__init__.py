"""podtask.engines.local."""
