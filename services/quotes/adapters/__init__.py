"""The quotes service's outside world: database, PDF, blob store."""
