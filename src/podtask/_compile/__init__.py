"""podtask._compile."""
