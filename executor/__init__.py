"""golemite executor package."""
