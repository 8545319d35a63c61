"""The notifier: email templates, per-user notification preferences, the delivery log.

It consumes ``quote.sent`` (email the client the link, and the PDF when asked),
``portal.quote_viewed`` / ``portal.quote_downloaded`` (tell the assignee by email
and/or SMS as their preferences say) and ``signature.completed`` (confirmation to
the assignee). Every message is first written to the delivery log in the
transaction that records the event, then sent by the dispatcher.
"""
