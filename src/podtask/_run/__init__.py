"""podtask._run."""
