from quoteflow.v1 import common_pb2 as _common_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuoteSent(_message.Message):
    __slots__ = ("quote_id", "number", "version", "kind", "recipient", "assignee", "link_url", "link_token_sha256", "expires_at", "pdf_sha256", "signature_requested", "snapshot", "subject", "body", "attach_pdf", "template", "signature_otp", "sealed_link_url")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    LINK_URL_FIELD_NUMBER: _ClassVar[int]
    LINK_TOKEN_SHA256_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_REQUESTED_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    ATTACH_PDF_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_OTP_FIELD_NUMBER: _ClassVar[int]
    SEALED_LINK_URL_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    number: str
    version: int
    kind: str
    recipient: _common_pb2.Party
    assignee: _common_pb2.Party
    link_url: str
    link_token_sha256: str
    expires_at: str
    pdf_sha256: str
    signature_requested: bool
    snapshot: _common_pb2.QuoteSnapshot
    subject: str
    body: str
    attach_pdf: bool
    template: str
    signature_otp: str
    sealed_link_url: str
    def __init__(self, quote_id: _Optional[str] = ..., number: _Optional[str] = ..., version: _Optional[int] = ..., kind: _Optional[str] = ..., recipient: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., assignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., link_url: _Optional[str] = ..., link_token_sha256: _Optional[str] = ..., expires_at: _Optional[str] = ..., pdf_sha256: _Optional[str] = ..., signature_requested: _Optional[bool] = ..., snapshot: _Optional[_Union[_common_pb2.QuoteSnapshot, _Mapping]] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., attach_pdf: _Optional[bool] = ..., template: _Optional[str] = ..., signature_otp: _Optional[str] = ..., sealed_link_url: _Optional[str] = ...) -> None: ...

class QuoteAssigneeChanged(_message.Message):
    __slots__ = ("quote_id", "number", "assignee", "previous_assignee_id", "changed_at")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    number: str
    assignee: _common_pb2.Party
    previous_assignee_id: str
    changed_at: str
    def __init__(self, quote_id: _Optional[str] = ..., number: _Optional[str] = ..., assignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., previous_assignee_id: _Optional[str] = ..., changed_at: _Optional[str] = ...) -> None: ...

class QuoteStatusChanged(_message.Message):
    __slots__ = ("quote_id", "number", "previous_status", "status", "cause", "changed_at", "version", "actor")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATUS_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    CAUSE_FIELD_NUMBER: _ClassVar[int]
    CHANGED_AT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    number: str
    previous_status: str
    status: str
    cause: str
    changed_at: str
    version: int
    actor: str
    def __init__(self, quote_id: _Optional[str] = ..., number: _Optional[str] = ..., previous_status: _Optional[str] = ..., status: _Optional[str] = ..., cause: _Optional[str] = ..., changed_at: _Optional[str] = ..., version: _Optional[int] = ..., actor: _Optional[str] = ...) -> None: ...

class QuoteWithdrawn(_message.Message):
    __slots__ = ("quote_id", "number", "version", "reason", "withdrawn_at", "actor")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    WITHDRAWN_AT_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    number: str
    version: int
    reason: str
    withdrawn_at: str
    actor: str
    def __init__(self, quote_id: _Optional[str] = ..., number: _Optional[str] = ..., version: _Optional[int] = ..., reason: _Optional[str] = ..., withdrawn_at: _Optional[str] = ..., actor: _Optional[str] = ...) -> None: ...

class QuoteViewed(_message.Message):
    __slots__ = ("quote_id", "number", "version", "recipient_email", "ip", "user_agent", "at", "assignee")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_EMAIL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    number: str
    version: int
    recipient_email: str
    ip: str
    user_agent: str
    at: str
    assignee: _common_pb2.Party
    def __init__(self, quote_id: _Optional[str] = ..., number: _Optional[str] = ..., version: _Optional[int] = ..., recipient_email: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., at: _Optional[str] = ..., assignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ...) -> None: ...

class QuoteDownloaded(_message.Message):
    __slots__ = ("quote_id", "number", "version", "recipient_email", "ip", "user_agent", "at", "assignee", "pdf_sha256")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_EMAIL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    number: str
    version: int
    recipient_email: str
    ip: str
    user_agent: str
    at: str
    assignee: _common_pb2.Party
    pdf_sha256: str
    def __init__(self, quote_id: _Optional[str] = ..., number: _Optional[str] = ..., version: _Optional[int] = ..., recipient_email: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., at: _Optional[str] = ..., assignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., pdf_sha256: _Optional[str] = ...) -> None: ...

class SignatureRequested(_message.Message):
    __slots__ = ("request_id", "quote_id", "version", "signer_email", "document_sha256")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    quote_id: str
    version: int
    signer_email: str
    document_sha256: str
    def __init__(self, request_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., version: _Optional[int] = ..., signer_email: _Optional[str] = ..., document_sha256: _Optional[str] = ...) -> None: ...

class SignatureCompleted(_message.Message):
    __slots__ = ("request_id", "quote_id", "number", "version", "signer_name", "signer_email", "signed_at", "document_sha256", "evidence_sha256", "assignee", "ip", "signed_pdf_sha256", "proof_sha256", "signer_contact_id", "proof_json_sha256")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    PROOF_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNER_CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    PROOF_JSON_SHA256_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    quote_id: str
    number: str
    version: int
    signer_name: str
    signer_email: str
    signed_at: str
    document_sha256: str
    evidence_sha256: str
    assignee: _common_pb2.Party
    ip: str
    signed_pdf_sha256: str
    proof_sha256: str
    signer_contact_id: str
    proof_json_sha256: str
    def __init__(self, request_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., number: _Optional[str] = ..., version: _Optional[int] = ..., signer_name: _Optional[str] = ..., signer_email: _Optional[str] = ..., signed_at: _Optional[str] = ..., document_sha256: _Optional[str] = ..., evidence_sha256: _Optional[str] = ..., assignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., ip: _Optional[str] = ..., signed_pdf_sha256: _Optional[str] = ..., proof_sha256: _Optional[str] = ..., signer_contact_id: _Optional[str] = ..., proof_json_sha256: _Optional[str] = ...) -> None: ...

class SignatureDeclined(_message.Message):
    __slots__ = ("request_id", "quote_id", "number", "version", "signer_name", "signer_email", "reason", "declined_at", "evidence_sha256", "assignee", "ip")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECLINED_AT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    quote_id: str
    number: str
    version: int
    signer_name: str
    signer_email: str
    reason: str
    declined_at: str
    evidence_sha256: str
    assignee: _common_pb2.Party
    ip: str
    def __init__(self, request_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., number: _Optional[str] = ..., version: _Optional[int] = ..., signer_name: _Optional[str] = ..., signer_email: _Optional[str] = ..., reason: _Optional[str] = ..., declined_at: _Optional[str] = ..., evidence_sha256: _Optional[str] = ..., assignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., ip: _Optional[str] = ...) -> None: ...

class NotificationSent(_message.Message):
    __slots__ = ("delivery_id", "quote_id", "channel", "recipient", "template", "cause_event_id", "at", "subject")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    quote_id: str
    channel: str
    recipient: str
    template: str
    cause_event_id: str
    at: str
    subject: str
    def __init__(self, delivery_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., cause_event_id: _Optional[str] = ..., at: _Optional[str] = ..., subject: _Optional[str] = ...) -> None: ...

class NotificationFailed(_message.Message):
    __slots__ = ("delivery_id", "quote_id", "channel", "recipient", "template", "cause_event_id", "at", "error", "attempts")
    DELIVERY_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    CAUSE_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    delivery_id: str
    quote_id: str
    channel: str
    recipient: str
    template: str
    cause_event_id: str
    at: str
    error: str
    attempts: int
    def __init__(self, delivery_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[str] = ..., template: _Optional[str] = ..., cause_event_id: _Optional[str] = ..., at: _Optional[str] = ..., error: _Optional[str] = ..., attempts: _Optional[int] = ...) -> None: ...

class SignatureCodeRequested(_message.Message):
    __slots__ = ("request_id", "quote_id", "number", "channel", "recipient", "expires_at", "assignee", "sealed_code")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    SEALED_CODE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    quote_id: str
    number: str
    channel: str
    recipient: _common_pb2.Party
    expires_at: str
    assignee: _common_pb2.Party
    sealed_code: bytes
    def __init__(self, request_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., number: _Optional[str] = ..., channel: _Optional[str] = ..., recipient: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., expires_at: _Optional[str] = ..., assignee: _Optional[_Union[_common_pb2.Party, _Mapping]] = ..., sealed_code: _Optional[bytes] = ...) -> None: ...

class ApiKeyCreated(_message.Message):
    __slots__ = ("key_id", "tenant", "sha256", "prefix", "label", "created_at")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    PREFIX_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    tenant: str
    sha256: str
    prefix: str
    label: str
    created_at: str
    def __init__(self, key_id: _Optional[str] = ..., tenant: _Optional[str] = ..., sha256: _Optional[str] = ..., prefix: _Optional[str] = ..., label: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class ApiKeyRevoked(_message.Message):
    __slots__ = ("key_id", "tenant", "sha256", "revoked_at")
    KEY_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    REVOKED_AT_FIELD_NUMBER: _ClassVar[int]
    key_id: str
    tenant: str
    sha256: str
    revoked_at: str
    def __init__(self, key_id: _Optional[str] = ..., tenant: _Optional[str] = ..., sha256: _Optional[str] = ..., revoked_at: _Optional[str] = ...) -> None: ...
