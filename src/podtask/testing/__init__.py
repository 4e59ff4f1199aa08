"""podtask.testing."""
