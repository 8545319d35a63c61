"""The notifier: every message that leaves Quoteflow, its templates, per-user preferences, the delivery log.

It consumes ``quote.sent`` (email the client the link, and the PDF when asked, with
the tenant's send / follow-up / signature-request template), ``portal.quote_viewed``
(the first view told at once, the next ones gathered into one digest when the
window ``NOTIFIER_DIGEST_WINDOW`` closes) and ``portal.quote_downloaded`` (tell the
assignee by email and/or SMS as their preferences say), ``signature.completed``
(confirmation to the assignee, the sealed PDF to the client), ``signature.declined``
(the reason to the assignee) and ``signature.code_requested`` (the one-time code by
email or SMS). After a signature or a decline, views and downloads of that quote
are no longer told. Every message is first written to the delivery log in the
transaction that records the event, then sent by the dispatcher, whose outcome is
published as ``notification.sent`` / ``notification.failed`` through the outbox.
"""
