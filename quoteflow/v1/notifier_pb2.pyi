from quoteflow.v1 import options_pb2 as _options_pb2
from quoteflow.v1 import quotes_pb2 as _quotes_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TemplateContent(_message.Message):
    __slots__ = ("subject", "text", "html", "sms")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    HTML_FIELD_NUMBER: _ClassVar[int]
    SMS_FIELD_NUMBER: _ClassVar[int]
    subject: str
    text: str
    html: str
    sms: str
    def __init__(self, subject: _Optional[str] = ..., text: _Optional[str] = ..., html: _Optional[str] = ..., sms: _Optional[str] = ...) -> None: ...

class TemplateVariable(_message.Message):
    __slots__ = ("name", "description", "required")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    required: bool
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., required: _Optional[bool] = ...) -> None: ...

class Template(_message.Message):
    __slots__ = ("name", "title", "description", "base", "version", "content", "saved_at", "saved_by", "variables", "has_sms", "customized")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SAVED_AT_FIELD_NUMBER: _ClassVar[int]
    SAVED_BY_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    HAS_SMS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMIZED_FIELD_NUMBER: _ClassVar[int]
    name: str
    title: str
    description: str
    base: str
    version: int
    content: TemplateContent
    saved_at: str
    saved_by: str
    variables: _containers.RepeatedCompositeFieldContainer[TemplateVariable]
    has_sms: bool
    customized: bool
    def __init__(self, name: _Optional[str] = ..., title: _Optional[str] = ..., description: _Optional[str] = ..., base: _Optional[str] = ..., version: _Optional[int] = ..., content: _Optional[_Union[TemplateContent, _Mapping]] = ..., saved_at: _Optional[str] = ..., saved_by: _Optional[str] = ..., variables: _Optional[_Iterable[_Union[TemplateVariable, _Mapping]]] = ..., has_sms: _Optional[bool] = ..., customized: _Optional[bool] = ...) -> None: ...

class ListTemplatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListTemplatesResponse(_message.Message):
    __slots__ = ("templates",)
    TEMPLATES_FIELD_NUMBER: _ClassVar[int]
    templates: _containers.RepeatedCompositeFieldContainer[Template]
    def __init__(self, templates: _Optional[_Iterable[_Union[Template, _Mapping]]] = ...) -> None: ...

class GetTemplateRequest(_message.Message):
    __slots__ = ("name", "version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    version: int
    def __init__(self, name: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class SaveTemplateRequest(_message.Message):
    __slots__ = ("name", "base", "content", "expected_version", "saved_by")
    NAME_FIELD_NUMBER: _ClassVar[int]
    BASE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_VERSION_FIELD_NUMBER: _ClassVar[int]
    SAVED_BY_FIELD_NUMBER: _ClassVar[int]
    name: str
    base: str
    content: TemplateContent
    expected_version: int
    saved_by: str
    def __init__(self, name: _Optional[str] = ..., base: _Optional[str] = ..., content: _Optional[_Union[TemplateContent, _Mapping]] = ..., expected_version: _Optional[int] = ..., saved_by: _Optional[str] = ...) -> None: ...

class ListTemplateVersionsRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class TemplateVersion(_message.Message):
    __slots__ = ("version", "saved_at", "saved_by", "subject")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SAVED_AT_FIELD_NUMBER: _ClassVar[int]
    SAVED_BY_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    version: int
    saved_at: str
    saved_by: str
    subject: str
    def __init__(self, version: _Optional[int] = ..., saved_at: _Optional[str] = ..., saved_by: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...

class ListTemplateVersionsResponse(_message.Message):
    __slots__ = ("versions",)
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedCompositeFieldContainer[TemplateVersion]
    def __init__(self, versions: _Optional[_Iterable[_Union[TemplateVersion, _Mapping]]] = ...) -> None: ...

class PreviewEmailRequest(_message.Message):
    __slots__ = ("template", "variables", "quote_id", "subject", "body", "draft", "fill_samples", "quote")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    DRAFT_FIELD_NUMBER: _ClassVar[int]
    FILL_SAMPLES_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    template: str
    variables: _containers.ScalarMap[str, str]
    quote_id: str
    subject: str
    body: str
    draft: TemplateContent
    fill_samples: bool
    quote: _quotes_pb2.Quote
    def __init__(self, template: _Optional[str] = ..., variables: _Optional[_Mapping[str, str]] = ..., quote_id: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., draft: _Optional[_Union[TemplateContent, _Mapping]] = ..., fill_samples: _Optional[bool] = ..., quote: _Optional[_Union[_quotes_pb2.Quote, _Mapping]] = ...) -> None: ...

class EmailPreview(_message.Message):
    __slots__ = ("subject", "body_text", "body_html", "sms_text", "template", "version", "quote_known", "missing_variables")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_TEXT_FIELD_NUMBER: _ClassVar[int]
    BODY_HTML_FIELD_NUMBER: _ClassVar[int]
    SMS_TEXT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    QUOTE_KNOWN_FIELD_NUMBER: _ClassVar[int]
    MISSING_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    subject: str
    body_text: str
    body_html: str
    sms_text: str
    template: str
    version: int
    quote_known: bool
    missing_variables: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, subject: _Optional[str] = ..., body_text: _Optional[str] = ..., body_html: _Optional[str] = ..., sms_text: _Optional[str] = ..., template: _Optional[str] = ..., version: _Optional[int] = ..., quote_known: _Optional[bool] = ..., missing_variables: _Optional[_Iterable[str]] = ...) -> None: ...

class GetPreferencesRequest(_message.Message):
    __slots__ = ("user_id",)
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ...) -> None: ...

class Preferences(_message.Message):
    __slots__ = ("user_id", "on_view_email", "on_view_sms", "on_download_email", "on_download_sms")
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    ON_VIEW_EMAIL_FIELD_NUMBER: _ClassVar[int]
    ON_VIEW_SMS_FIELD_NUMBER: _ClassVar[int]
    ON_DOWNLOAD_EMAIL_FIELD_NUMBER: _ClassVar[int]
    ON_DOWNLOAD_SMS_FIELD_NUMBER: _ClassVar[int]
    user_id: str
    on_view_email: bool
    on_view_sms: bool
    on_download_email: bool
    on_download_sms: bool
    def __init__(self, user_id: _Optional[str] = ..., on_view_email: _Optional[bool] = ..., on_view_sms: _Optional[bool] = ..., on_download_email: _Optional[bool] = ..., on_download_sms: _Optional[bool] = ...) -> None: ...

class ListDeliveriesRequest(_message.Message):
    __slots__ = ("quote_id",)
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    def __init__(self, quote_id: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("id", "channel", "recipient", "template", "event_id", "status", "error", "attempts", "created_at", "sent_at", "subject", "quote_id", "last_attempt_at", "next_attempt_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    NEXT_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    channel: str
    recipient: str
    template: str
    event_id: str
    status: str
    error: str
    attempts: int
    created_at: str
    sent_at: str
    subject: str
    quote_id: str
    last_attempt_at: str
    next_attempt_at: str
    def __init__(self, id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., event_id: _Optional[str] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., created_at: _Optional[str] = ..., sent_at: _Optional[str] = ..., subject: _Optional[str] = ..., quote_id: _Optional[str] = ..., last_attempt_at: _Optional[str] = ..., next_attempt_at: _Optional[str] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...
