"""podtask.entrypoint."""
