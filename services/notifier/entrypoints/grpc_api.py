"""The NotifierService servicer: proto in, handler call, proto out."""
from __future__ import annotations

from quoteflow import auth
from quoteflow.envelope import rfc3339
from quoteflow.v1 import notifier_pb2, notifier_pb2_grpc
from services.notifier.domain.model import Preferences, TemplateContent

SERVICE_NAME = notifier_pb2.DESCRIPTOR.services_by_name["NotifierService"].full_name


def _time(moment) -> str:
    return rfc3339(moment) if moment else ""


def _preferences(prefs: Preferences) -> notifier_pb2.Preferences:
    return notifier_pb2.Preferences(
        user_id=prefs.user_id, on_view_email=prefs.on_view_email, on_view_sms=prefs.on_view_sms,
        on_download_email=prefs.on_download_email, on_download_sms=prefs.on_download_sms)


def _content(message: notifier_pb2.TemplateContent) -> TemplateContent:
    return TemplateContent(subject=message.subject, text=message.text, html=message.html, sms=message.sms)


def _template(view) -> notifier_pb2.Template:
    c = view.content
    return notifier_pb2.Template(
        name=view.name, title=view.title, description=view.spec.description, base=view.base, version=view.version,
        content=notifier_pb2.TemplateContent(subject=c.subject, text=c.text, html=c.html, sms=c.sms),
        saved_at=_time(view.saved_at), saved_by=view.saved_by, has_sms=view.spec.has_sms,
        customized=view.customized,
        variables=[notifier_pb2.TemplateVariable(name=n, description=d, required=r) for n, d, r in view.variables()])


class NotifierServicer(notifier_pb2_grpc.NotifierServiceServicer):
    def __init__(self, app):
        self.app = app

    def ListTemplates(self, request, context):
        return notifier_pb2.ListTemplatesResponse(
            templates=[_template(view) for view in self.app.list_templates(auth.tenant())])

    def GetTemplate(self, request, context):
        return _template(self.app.get_template(auth.tenant(), request.name, request.version))

    def SaveTemplate(self, request, context):
        return _template(self.app.save_template(
            auth.tenant(), request.name, _content(request.content), base=request.base,
            expected_version=request.expected_version, saved_by=request.saved_by))

    def ListTemplateVersions(self, request, context):
        versions = self.app.list_template_versions(auth.tenant(), request.name)
        return notifier_pb2.ListTemplateVersionsResponse(versions=[
            notifier_pb2.TemplateVersion(version=v.version, saved_at=_time(v.saved_at), saved_by=v.saved_by,
                                         subject=v.content.subject) for v in versions])

    def PreviewEmail(self, request, context):
        preview = self.app.preview_email(
            auth.tenant(), request.template, dict(request.variables), quote_id=request.quote_id,
            subject=request.subject, body=request.body,
            draft=_content(request.draft) if request.HasField("draft") else None, fill_samples=request.fill_samples,
            quote=request.quote if request.HasField("quote") else None)
        rendered = preview.rendered
        return notifier_pb2.EmailPreview(
            subject=rendered.subject, body_text=rendered.text, body_html=rendered.html, sms_text=rendered.sms,
            template=preview.template, version=preview.version, quote_known=preview.quote_known,
            missing_variables=preview.missing)

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
                status=d.status, error=d.error, attempts=d.attempts, created_at=_time(d.created_at),
                sent_at=_time(d.sent_at), subject=d.subject, quote_id=d.quote_id,
                last_attempt_at=_time(d.last_attempt_at),
                next_attempt_at=_time(d.next_attempt_at) if d.status == "queued" else "")
            for d in rows])


def register(servicer: NotifierServicer):
    return lambda server: notifier_pb2_grpc.add_NotifierServiceServicer_to_server(servicer, server)
