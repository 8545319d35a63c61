"""The four Quoteflow services; each is started with ``python -m services.<name>``."""
