"""podtask._storage."""
