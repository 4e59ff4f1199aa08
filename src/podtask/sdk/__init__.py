"""podtask.sdk."""
