"""golemite api package."""
