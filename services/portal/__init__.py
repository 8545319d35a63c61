"""The client portal: the pages behind "Accéder au document" links, the PDF download, online signature.

Its own read model (links by token hash, sent versions) is fed by ``quote.sent`` and
``signature.completed``; each view and download becomes a ``portal.*`` event through the outbox.
"""
