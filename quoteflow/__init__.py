"""Quoteflow's shared kernel: envelope, outbox, inbox, bus, gRPC bootstrap, auth, config.

A service imports from here; nothing here imports a service.
"""
