"""podtask._podspec."""
