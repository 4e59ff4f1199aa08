"""podtask._lifecycle."""
