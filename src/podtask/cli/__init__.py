"""podtask.cli."""
