from quoteflow.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SignRequest(_message.Message):
    __slots__ = ("tenant_id", "quote_id", "version", "document_sha256", "signer_name", "consent", "consent_text", "ip", "user_agent", "signer_email", "otp_code", "signature_png")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    CONSENT_TEXT_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    OTP_CODE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_PNG_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    quote_id: str
    version: int
    document_sha256: str
    signer_name: str
    consent: bool
    consent_text: str
    ip: str
    user_agent: str
    signer_email: str
    otp_code: str
    signature_png: bytes
    def __init__(self, tenant_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., version: _Optional[int] = ..., document_sha256: _Optional[str] = ..., signer_name: _Optional[str] = ..., consent: _Optional[bool] = ..., consent_text: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., signer_email: _Optional[str] = ..., otp_code: _Optional[str] = ..., signature_png: _Optional[bytes] = ...) -> None: ...

class SignResponse(_message.Message):
    __slots__ = ("request_id", "signed_at", "signer_name", "evidence_sha256", "signed_pdf_sha256", "proof_sha256", "proof_json_sha256")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    PROOF_SHA256_FIELD_NUMBER: _ClassVar[int]
    PROOF_JSON_SHA256_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    signed_at: str
    signer_name: str
    evidence_sha256: str
    signed_pdf_sha256: str
    proof_sha256: str
    proof_json_sha256: str
    def __init__(self, request_id: _Optional[str] = ..., signed_at: _Optional[str] = ..., signer_name: _Optional[str] = ..., evidence_sha256: _Optional[str] = ..., signed_pdf_sha256: _Optional[str] = ..., proof_sha256: _Optional[str] = ..., proof_json_sha256: _Optional[str] = ...) -> None: ...

class GetRequestRequest(_message.Message):
    __slots__ = ("tenant_id", "quote_id")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    quote_id: str
    def __init__(self, tenant_id: _Optional[str] = ..., quote_id: _Optional[str] = ...) -> None: ...

class EvidenceEntry(_message.Message):
    __slots__ = ("seq", "at", "step", "ip", "user_agent", "data_json", "prev_sha256", "sha256")
    SEQ_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    PREV_SHA256_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    seq: int
    at: str
    step: str
    ip: str
    user_agent: str
    data_json: str
    prev_sha256: str
    sha256: str
    def __init__(self, seq: _Optional[int] = ..., at: _Optional[str] = ..., step: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ..., data_json: _Optional[str] = ..., prev_sha256: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class SignatureRequest(_message.Message):
    __slots__ = ("request_id", "quote_id", "version", "status", "signer_email", "document_sha256", "evidence", "signer_name", "signed_at", "signed_pdf_sha256", "proof_sha256", "number", "expires_at", "otp_channel", "code_expires_at", "code_attempts_left", "declined_at", "decline_reason", "proof_json_sha256", "signature_png_sha256", "consent_text", "evidence_sha256")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    PROOF_SHA256_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    OTP_CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CODE_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CODE_ATTEMPTS_LEFT_FIELD_NUMBER: _ClassVar[int]
    DECLINED_AT_FIELD_NUMBER: _ClassVar[int]
    DECLINE_REASON_FIELD_NUMBER: _ClassVar[int]
    PROOF_JSON_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_PNG_SHA256_FIELD_NUMBER: _ClassVar[int]
    CONSENT_TEXT_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    quote_id: str
    version: int
    status: str
    signer_email: str
    document_sha256: str
    evidence: _containers.RepeatedCompositeFieldContainer[EvidenceEntry]
    signer_name: str
    signed_at: str
    signed_pdf_sha256: str
    proof_sha256: str
    number: str
    expires_at: str
    otp_channel: str
    code_expires_at: str
    code_attempts_left: int
    declined_at: str
    decline_reason: str
    proof_json_sha256: str
    signature_png_sha256: str
    consent_text: str
    evidence_sha256: str
    def __init__(self, request_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., version: _Optional[int] = ..., status: _Optional[str] = ..., signer_email: _Optional[str] = ..., document_sha256: _Optional[str] = ..., evidence: _Optional[_Iterable[_Union[EvidenceEntry, _Mapping]]] = ..., signer_name: _Optional[str] = ..., signed_at: _Optional[str] = ..., signed_pdf_sha256: _Optional[str] = ..., proof_sha256: _Optional[str] = ..., number: _Optional[str] = ..., expires_at: _Optional[str] = ..., otp_channel: _Optional[str] = ..., code_expires_at: _Optional[str] = ..., code_attempts_left: _Optional[int] = ..., declined_at: _Optional[str] = ..., decline_reason: _Optional[str] = ..., proof_json_sha256: _Optional[str] = ..., signature_png_sha256: _Optional[str] = ..., consent_text: _Optional[str] = ..., evidence_sha256: _Optional[str] = ...) -> None: ...

class DeclineRequest(_message.Message):
    __slots__ = ("tenant_id", "quote_id", "version", "reason", "signer_name", "signer_email", "ip", "user_agent")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    quote_id: str
    version: int
    reason: str
    signer_name: str
    signer_email: str
    ip: str
    user_agent: str
    def __init__(self, tenant_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., version: _Optional[int] = ..., reason: _Optional[str] = ..., signer_name: _Optional[str] = ..., signer_email: _Optional[str] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class DeclineResponse(_message.Message):
    __slots__ = ("request_id", "declined_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DECLINED_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    declined_at: str
    def __init__(self, request_id: _Optional[str] = ..., declined_at: _Optional[str] = ...) -> None: ...

class RequestCodeRequest(_message.Message):
    __slots__ = ("tenant_id", "quote_id", "version", "ip", "user_agent")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    quote_id: str
    version: int
    ip: str
    user_agent: str
    def __init__(self, tenant_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., version: _Optional[int] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class RequestCodeResponse(_message.Message):
    __slots__ = ("channel", "masked_recipient", "expires_at", "codes_left", "resend_after_seconds")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MASKED_RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CODES_LEFT_FIELD_NUMBER: _ClassVar[int]
    RESEND_AFTER_SECONDS_FIELD_NUMBER: _ClassVar[int]
    channel: str
    masked_recipient: str
    expires_at: str
    codes_left: int
    resend_after_seconds: int
    def __init__(self, channel: _Optional[str] = ..., masked_recipient: _Optional[str] = ..., expires_at: _Optional[str] = ..., codes_left: _Optional[int] = ..., resend_after_seconds: _Optional[int] = ...) -> None: ...

class RecordOpenedRequest(_message.Message):
    __slots__ = ("tenant_id", "quote_id", "version", "ip", "user_agent")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    IP_FIELD_NUMBER: _ClassVar[int]
    USER_AGENT_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    quote_id: str
    version: int
    ip: str
    user_agent: str
    def __init__(self, tenant_id: _Optional[str] = ..., quote_id: _Optional[str] = ..., version: _Optional[int] = ..., ip: _Optional[str] = ..., user_agent: _Optional[str] = ...) -> None: ...

class RecordOpenedResponse(_message.Message):
    __slots__ = ("recorded",)
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    recorded: bool
    def __init__(self, recorded: _Optional[bool] = ...) -> None: ...

class GetDocumentRequest(_message.Message):
    __slots__ = ("tenant_id", "request_id", "kind")
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    tenant_id: str
    request_id: str
    kind: str
    def __init__(self, tenant_id: _Optional[str] = ..., request_id: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...

class Document(_message.Message):
    __slots__ = ("filename", "content_type", "content", "sha256")
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    filename: str
    content_type: str
    content: bytes
    sha256: str
    def __init__(self, filename: _Optional[str] = ..., content_type: _Optional[str] = ..., content: _Optional[bytes] = ..., sha256: _Optional[str] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("pdf", "tenant_id")
    PDF_FIELD_NUMBER: _ClassVar[int]
    TENANT_ID_FIELD_NUMBER: _ClassVar[int]
    pdf: bytes
    tenant_id: str
    def __init__(self, pdf: _Optional[bytes] = ..., tenant_id: _Optional[str] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("intact", "signer_name", "signed_at", "reason", "request_id", "sha256", "timestamped_at", "kind")
    INTACT_FIELD_NUMBER: _ClassVar[int]
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMPED_AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    intact: bool
    signer_name: str
    signed_at: str
    reason: str
    request_id: str
    sha256: str
    timestamped_at: str
    kind: str
    def __init__(self, intact: _Optional[bool] = ..., signer_name: _Optional[str] = ..., signed_at: _Optional[str] = ..., reason: _Optional[str] = ..., request_id: _Optional[str] = ..., sha256: _Optional[str] = ..., timestamped_at: _Optional[str] = ..., kind: _Optional[str] = ...) -> None: ...
