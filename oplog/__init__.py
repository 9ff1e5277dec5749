"""golemite oplog package."""
