"""Thin translators from gRPC and bus messages to commands and events."""
