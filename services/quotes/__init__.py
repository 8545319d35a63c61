"""The quotes service: the system of record (gRPC), publisher of ``quote.*`` events."""
