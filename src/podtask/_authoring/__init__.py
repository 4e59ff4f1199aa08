"""podtask._authoring."""
