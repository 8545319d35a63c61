from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PreviewEmailRequest(_message.Message):
    __slots__ = ("template", "variables")
    class VariablesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    VARIABLES_FIELD_NUMBER: _ClassVar[int]
    template: str
    variables: _containers.ScalarMap[str, str]
    def __init__(self, template: _Optional[str] = ..., variables: _Optional[_Mapping[str, str]] = ...) -> None: ...

class EmailPreview(_message.Message):
    __slots__ = ("subject", "body_text", "body_html")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_TEXT_FIELD_NUMBER: _ClassVar[int]
    BODY_HTML_FIELD_NUMBER: _ClassVar[int]
    subject: str
    body_text: str
    body_html: str
    def __init__(self, subject: _Optional[str] = ..., body_text: _Optional[str] = ..., body_html: _Optional[str] = ...) -> None: ...

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
    __slots__ = ("id", "channel", "recipient", "template", "event_id", "status", "error", "attempts", "created_at", "sent_at", "subject")
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
    def __init__(self, id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., event_id: _Optional[str] = ..., status: _Optional[str] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ..., created_at: _Optional[str] = ..., sent_at: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...

class ListDeliveriesResponse(_message.Message):
    __slots__ = ("deliveries",)
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    deliveries: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, deliveries: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...
