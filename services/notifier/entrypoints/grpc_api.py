"""The NotifierService servicer: proto in, handler call, proto out."""
from __future__ import annotations

from quoteflow import auth
from quoteflow.envelope import rfc3339
from quoteflow.v1 import notifier_pb2, notifier_pb2_grpc
from services.notifier.domain.model import Preferences

SERVICE_NAME = notifier_pb2.DESCRIPTOR.services_by_name["NotifierService"].full_name


def _preferences(prefs: Preferences) -> notifier_pb2.Preferences:
    return notifier_pb2.Preferences(
        user_id=prefs.user_id, on_view_email=prefs.on_view_email, on_view_sms=prefs.on_view_sms,
        on_download_email=prefs.on_download_email, on_download_sms=prefs.on_download_sms)


class NotifierServicer(notifier_pb2_grpc.NotifierServiceServicer):
    def __init__(self, app):
        self.app = app

    def PreviewEmail(self, request, context):
        rendered = self.app.preview_email(request.template, dict(request.variables))
        return notifier_pb2.EmailPreview(subject=rendered.subject, body_text=rendered.text,
                                         body_html=rendered.html)

    def GetPreferences(self, request, context):
        return _preferences(self.app.get_preferences(auth.tenant(), request.user_id))

    def SetPreferences(self, request, context):
        prefs = Preferences(user_id=request.user_id, on_view_email=request.on_view_email,
                            on_view_sms=request.on_view_sms, on_download_email=request.on_download_email,
                            on_download_sms=request.on_download_sms)
        return _preferences(self.app.set_preferences(auth.tenant(), prefs))

    def ListDeliveries(self, request, context):
        rows = self.app.list_deliveries(auth.tenant(), request.quote_id)
        return notifier_pb2.ListDeliveriesResponse(deliveries=[
            notifier_pb2.Delivery(
                id=d.id, channel=d.channel, recipient=d.recipient, template=d.template, event_id=d.event_id,
                status=d.status, error=d.error, attempts=d.attempts, created_at=rfc3339(d.created_at),
                sent_at=rfc3339(d.sent_at) if d.sent_at else "", subject=d.subject)
            for d in rows])


def register(servicer: NotifierServicer):
    return lambda server: notifier_pb2_grpc.add_NotifierServiceServicer_to_server(servicer, server)
