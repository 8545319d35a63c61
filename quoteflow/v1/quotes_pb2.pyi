from google.protobuf import field_mask_pb2 as _field_mask_pb2
from quoteflow.v1 import common_pb2 as _common_pb2
from quoteflow.v1 import options_pb2 as _options_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Account(_message.Message):
    __slots__ = ("id", "name", "address")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    address: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class Contact(_message.Message):
    __slots__ = ("id", "account_id", "name", "email", "phone")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    account_id: str
    name: str
    email: str
    phone: str
    def __init__(self, id: _Optional[str] = ..., account_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ...) -> None: ...

class User(_message.Message):
    __slots__ = ("id", "name", "email", "mobile")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    MOBILE_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    email: str
    mobile: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., mobile: _Optional[str] = ...) -> None: ...

class Deal(_message.Message):
    __slots__ = ("id", "account_id", "contact_id", "assignee_id", "title")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    id: str
    account_id: str
    contact_id: str
    assignee_id: str
    title: str
    def __init__(self, id: _Optional[str] = ..., account_id: _Optional[str] = ..., contact_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., title: _Optional[str] = ...) -> None: ...

class Product(_message.Message):
    __slots__ = ("id", "reference", "label", "unit_price", "vat_rate", "unit")
    ID_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    VAT_RATE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    id: str
    reference: str
    label: str
    unit_price: str
    vat_rate: str
    unit: str
    def __init__(self, id: _Optional[str] = ..., reference: _Optional[str] = ..., label: _Optional[str] = ..., unit_price: _Optional[str] = ..., vat_rate: _Optional[str] = ..., unit: _Optional[str] = ...) -> None: ...

class Equipment(_message.Message):
    __slots__ = ("id", "account_id", "product_id", "serial_number", "install_date", "warranty_end", "product_reference", "product_label")
    ID_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    SERIAL_NUMBER_FIELD_NUMBER: _ClassVar[int]
    INSTALL_DATE_FIELD_NUMBER: _ClassVar[int]
    WARRANTY_END_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_LABEL_FIELD_NUMBER: _ClassVar[int]
    id: str
    account_id: str
    product_id: str
    serial_number: str
    install_date: str
    warranty_end: str
    product_reference: str
    product_label: str
    def __init__(self, id: _Optional[str] = ..., account_id: _Optional[str] = ..., product_id: _Optional[str] = ..., serial_number: _Optional[str] = ..., install_date: _Optional[str] = ..., warranty_end: _Optional[str] = ..., product_reference: _Optional[str] = ..., product_label: _Optional[str] = ...) -> None: ...

class ListEquipmentRequest(_message.Message):
    __slots__ = ("account_id", "quote_id")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    quote_id: str
    def __init__(self, account_id: _Optional[str] = ..., quote_id: _Optional[str] = ...) -> None: ...

class ListEquipmentResponse(_message.Message):
    __slots__ = ("equipment",)
    EQUIPMENT_FIELD_NUMBER: _ClassVar[int]
    equipment: _containers.RepeatedCompositeFieldContainer[Equipment]
    def __init__(self, equipment: _Optional[_Iterable[_Union[Equipment, _Mapping]]] = ...) -> None: ...

class GetSettingsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Settings(_message.Message):
    __slots__ = ("esignature_enabled", "company", "default_validity_days", "default_terms", "signature_otp", "extra_vat_rates", "branding", "logo", "remove_logo", "vat_rates", "update_mask")
    ESIGNATURE_ENABLED_FIELD_NUMBER: _ClassVar[int]
    COMPANY_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_VALIDITY_DAYS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TERMS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_OTP_FIELD_NUMBER: _ClassVar[int]
    EXTRA_VAT_RATES_FIELD_NUMBER: _ClassVar[int]
    BRANDING_FIELD_NUMBER: _ClassVar[int]
    LOGO_FIELD_NUMBER: _ClassVar[int]
    REMOVE_LOGO_FIELD_NUMBER: _ClassVar[int]
    VAT_RATES_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    esignature_enabled: bool
    company: _common_pb2.Company
    default_validity_days: int
    default_terms: str
    signature_otp: str
    extra_vat_rates: _containers.RepeatedScalarFieldContainer[str]
    branding: _common_pb2.Branding
    logo: bytes
    remove_logo: bool
    vat_rates: _containers.RepeatedScalarFieldContainer[str]
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, esignature_enabled: _Optional[bool] = ..., company: _Optional[_Union[_common_pb2.Company, _Mapping]] = ..., default_validity_days: _Optional[int] = ..., default_terms: _Optional[str] = ..., signature_otp: _Optional[str] = ..., extra_vat_rates: _Optional[_Iterable[str]] = ..., branding: _Optional[_Union[_common_pb2.Branding, _Mapping]] = ..., logo: _Optional[bytes] = ..., remove_logo: _Optional[bool] = ..., vat_rates: _Optional[_Iterable[str]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class CreateQuoteRequest(_message.Message):
    __slots__ = ("account_id", "contact_id", "assignee_id", "title", "lines", "valid_until", "terms", "deal_id", "optional_lines", "idempotency_key")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_LINES_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    contact_id: str
    assignee_id: str
    title: str
    lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.QuoteLine]
    valid_until: str
    terms: str
    deal_id: str
    optional_lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.QuoteLine]
    idempotency_key: str
    def __init__(self, account_id: _Optional[str] = ..., contact_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., title: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_common_pb2.QuoteLine, _Mapping]]] = ..., valid_until: _Optional[str] = ..., terms: _Optional[str] = ..., deal_id: _Optional[str] = ..., optional_lines: _Optional[_Iterable[_Union[_common_pb2.QuoteLine, _Mapping]]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class GetQuoteRequest(_message.Message):
    __slots__ = ("quote_id",)
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    def __init__(self, quote_id: _Optional[str] = ...) -> None: ...

class HistoryEntry(_message.Message):
    __slots__ = ("at", "kind", "actor", "detail")
    AT_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    at: str
    kind: str
    actor: str
    detail: str
    def __init__(self, at: _Optional[str] = ..., kind: _Optional[str] = ..., actor: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Version(_message.Message):
    __slots__ = ("number", "pdf_sha256", "sent_at", "recipient_email", "last_sent_at", "last_recipient_email", "send_count")
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_EMAIL_FIELD_NUMBER: _ClassVar[int]
    LAST_SENT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_RECIPIENT_EMAIL_FIELD_NUMBER: _ClassVar[int]
    SEND_COUNT_FIELD_NUMBER: _ClassVar[int]
    number: int
    pdf_sha256: str
    sent_at: str
    recipient_email: str
    last_sent_at: str
    last_recipient_email: str
    send_count: int
    def __init__(self, number: _Optional[int] = ..., pdf_sha256: _Optional[str] = ..., sent_at: _Optional[str] = ..., recipient_email: _Optional[str] = ..., last_sent_at: _Optional[str] = ..., last_recipient_email: _Optional[str] = ..., send_count: _Optional[int] = ...) -> None: ...

class SignatureBanner(_message.Message):
    __slots__ = ("signer_name", "signer_email", "signed_at", "request_id", "document_sha256", "evidence_sha256", "signed_pdf_sha256", "proof_sha256", "version")
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_SHA256_FIELD_NUMBER: _ClassVar[int]
    SIGNED_PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    PROOF_SHA256_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    signer_name: str
    signer_email: str
    signed_at: str
    request_id: str
    document_sha256: str
    evidence_sha256: str
    signed_pdf_sha256: str
    proof_sha256: str
    version: int
    def __init__(self, signer_name: _Optional[str] = ..., signer_email: _Optional[str] = ..., signed_at: _Optional[str] = ..., request_id: _Optional[str] = ..., document_sha256: _Optional[str] = ..., evidence_sha256: _Optional[str] = ..., signed_pdf_sha256: _Optional[str] = ..., proof_sha256: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Decline(_message.Message):
    __slots__ = ("signer_name", "signer_email", "reason", "declined_at", "request_id", "version")
    SIGNER_NAME_FIELD_NUMBER: _ClassVar[int]
    SIGNER_EMAIL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    DECLINED_AT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    signer_name: str
    signer_email: str
    reason: str
    declined_at: str
    request_id: str
    version: int
    def __init__(self, signer_name: _Optional[str] = ..., signer_email: _Optional[str] = ..., reason: _Optional[str] = ..., declined_at: _Optional[str] = ..., request_id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class Quote(_message.Message):
    __slots__ = ("id", "number", "status", "account_id", "contact_id", "assignee_id", "title", "lines", "totals", "valid_until", "created_at", "view_count", "download_count", "last_viewed_at", "history", "versions", "signature", "send_action", "terms", "deal_id", "optional_lines", "documents", "version", "decline", "invoices", "orders", "tasks", "updated_at", "unsent_changes")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    VIEW_COUNT_FIELD_NUMBER: _ClassVar[int]
    DOWNLOAD_COUNT_FIELD_NUMBER: _ClassVar[int]
    LAST_VIEWED_AT_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SEND_ACTION_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_LINES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DECLINE_FIELD_NUMBER: _ClassVar[int]
    INVOICES_FIELD_NUMBER: _ClassVar[int]
    ORDERS_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    UNSENT_CHANGES_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    status: str
    account_id: str
    contact_id: str
    assignee_id: str
    title: str
    lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.QuoteLine]
    totals: _common_pb2.Totals
    valid_until: str
    created_at: str
    view_count: int
    download_count: int
    last_viewed_at: str
    history: _containers.RepeatedCompositeFieldContainer[HistoryEntry]
    versions: _containers.RepeatedCompositeFieldContainer[Version]
    signature: SignatureBanner
    send_action: str
    terms: str
    deal_id: str
    optional_lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.QuoteLine]
    documents: _containers.RepeatedCompositeFieldContainer[_common_pb2.Attachment]
    version: int
    decline: Decline
    invoices: _containers.RepeatedCompositeFieldContainer[SalesDocumentRef]
    orders: _containers.RepeatedCompositeFieldContainer[SalesDocumentRef]
    tasks: _containers.RepeatedCompositeFieldContainer[Task]
    updated_at: str
    unsent_changes: bool
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., status: _Optional[str] = ..., account_id: _Optional[str] = ..., contact_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., title: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_common_pb2.QuoteLine, _Mapping]]] = ..., totals: _Optional[_Union[_common_pb2.Totals, _Mapping]] = ..., valid_until: _Optional[str] = ..., created_at: _Optional[str] = ..., view_count: _Optional[int] = ..., download_count: _Optional[int] = ..., last_viewed_at: _Optional[str] = ..., history: _Optional[_Iterable[_Union[HistoryEntry, _Mapping]]] = ..., versions: _Optional[_Iterable[_Union[Version, _Mapping]]] = ..., signature: _Optional[_Union[SignatureBanner, _Mapping]] = ..., send_action: _Optional[str] = ..., terms: _Optional[str] = ..., deal_id: _Optional[str] = ..., optional_lines: _Optional[_Iterable[_Union[_common_pb2.QuoteLine, _Mapping]]] = ..., documents: _Optional[_Iterable[_Union[_common_pb2.Attachment, _Mapping]]] = ..., version: _Optional[int] = ..., decline: _Optional[_Union[Decline, _Mapping]] = ..., invoices: _Optional[_Iterable[_Union[SalesDocumentRef, _Mapping]]] = ..., orders: _Optional[_Iterable[_Union[SalesDocumentRef, _Mapping]]] = ..., tasks: _Optional[_Iterable[_Union[Task, _Mapping]]] = ..., updated_at: _Optional[str] = ..., unsent_changes: _Optional[bool] = ...) -> None: ...

class ListQuotesRequest(_message.Message):
    __slots__ = ("page_size", "page_token", "status", "account_id", "assignee_id", "deal_id", "text", "order_by")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    ORDER_BY_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    status: str
    account_id: str
    assignee_id: str
    deal_id: str
    text: str
    order_by: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., status: _Optional[str] = ..., account_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., deal_id: _Optional[str] = ..., text: _Optional[str] = ..., order_by: _Optional[str] = ...) -> None: ...

class ListQuotesResponse(_message.Message):
    __slots__ = ("quotes", "next_page_token")
    QUOTES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    quotes: _containers.RepeatedCompositeFieldContainer[Quote]
    next_page_token: str
    def __init__(self, quotes: _Optional[_Iterable[_Union[Quote, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class UpdateQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "title", "lines", "optional_lines", "valid_until", "terms", "contact_id", "assignee_id", "deal_id", "update_mask")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_LINES_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    DEAL_ID_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    title: str
    lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.QuoteLine]
    optional_lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.QuoteLine]
    valid_until: str
    terms: str
    contact_id: str
    assignee_id: str
    deal_id: str
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, quote_id: _Optional[str] = ..., title: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_common_pb2.QuoteLine, _Mapping]]] = ..., optional_lines: _Optional[_Iterable[_Union[_common_pb2.QuoteLine, _Mapping]]] = ..., valid_until: _Optional[str] = ..., terms: _Optional[str] = ..., contact_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., deal_id: _Optional[str] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class SendQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "recipient_contact_id", "template", "subject", "body", "attach_pdf", "request_signature", "idempotency_key")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    ATTACH_PDF_FIELD_NUMBER: _ClassVar[int]
    REQUEST_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    recipient_contact_id: str
    template: str
    subject: str
    body: str
    attach_pdf: bool
    request_signature: bool
    idempotency_key: str
    def __init__(self, quote_id: _Optional[str] = ..., recipient_contact_id: _Optional[str] = ..., template: _Optional[str] = ..., subject: _Optional[str] = ..., body: _Optional[str] = ..., attach_pdf: _Optional[bool] = ..., request_signature: _Optional[bool] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class SendQuoteResponse(_message.Message):
    __slots__ = ("quote", "version", "pdf_sha256", "link_url")
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    PDF_SHA256_FIELD_NUMBER: _ClassVar[int]
    LINK_URL_FIELD_NUMBER: _ClassVar[int]
    quote: Quote
    version: int
    pdf_sha256: str
    link_url: str
    def __init__(self, quote: _Optional[_Union[Quote, _Mapping]] = ..., version: _Optional[int] = ..., pdf_sha256: _Optional[str] = ..., link_url: _Optional[str] = ...) -> None: ...

class AddDocumentRequest(_message.Message):
    __slots__ = ("quote_id", "name", "content", "idempotency_key")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    name: str
    content: bytes
    idempotency_key: str
    def __init__(self, quote_id: _Optional[str] = ..., name: _Optional[str] = ..., content: _Optional[bytes] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class RemoveDocumentRequest(_message.Message):
    __slots__ = ("quote_id", "sha256")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    sha256: str
    def __init__(self, quote_id: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class GetQuoteFileRequest(_message.Message):
    __slots__ = ("quote_id", "sha256")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    sha256: str
    def __init__(self, quote_id: _Optional[str] = ..., sha256: _Optional[str] = ...) -> None: ...

class File(_message.Message):
    __slots__ = ("name", "content_type", "sha256", "content")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    CONTENT_FIELD_NUMBER: _ClassVar[int]
    name: str
    content_type: str
    sha256: str
    content: bytes
    def __init__(self, name: _Optional[str] = ..., content_type: _Optional[str] = ..., sha256: _Optional[str] = ..., content: _Optional[bytes] = ...) -> None: ...

class DuplicateQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "idempotency_key")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    idempotency_key: str
    def __init__(self, quote_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class WithdrawQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "reason")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    reason: str
    def __init__(self, quote_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class CreateFromQuoteRequest(_message.Message):
    __slots__ = ("quote_id", "idempotency_key")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    idempotency_key: str
    def __init__(self, quote_id: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class SalesDocument(_message.Message):
    __slots__ = ("id", "kind", "number", "quote_id", "quote_number", "account_id", "contact_id", "assignee_id", "title", "lines", "totals", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CONTACT_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    kind: str
    number: str
    quote_id: str
    quote_number: str
    account_id: str
    contact_id: str
    assignee_id: str
    title: str
    lines: _containers.RepeatedCompositeFieldContainer[_common_pb2.QuoteLine]
    totals: _common_pb2.Totals
    created_at: str
    def __init__(self, id: _Optional[str] = ..., kind: _Optional[str] = ..., number: _Optional[str] = ..., quote_id: _Optional[str] = ..., quote_number: _Optional[str] = ..., account_id: _Optional[str] = ..., contact_id: _Optional[str] = ..., assignee_id: _Optional[str] = ..., title: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_common_pb2.QuoteLine, _Mapping]]] = ..., totals: _Optional[_Union[_common_pb2.Totals, _Mapping]] = ..., created_at: _Optional[str] = ...) -> None: ...

class SalesDocumentRef(_message.Message):
    __slots__ = ("id", "number", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    number: str
    created_at: str
    def __init__(self, id: _Optional[str] = ..., number: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...

class CreateTaskRequest(_message.Message):
    __slots__ = ("quote_id", "title", "due_date", "assignee_id", "description", "idempotency_key")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    title: str
    due_date: str
    assignee_id: str
    description: str
    idempotency_key: str
    def __init__(self, quote_id: _Optional[str] = ..., title: _Optional[str] = ..., due_date: _Optional[str] = ..., assignee_id: _Optional[str] = ..., description: _Optional[str] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("id", "quote_id", "title", "due_date", "assignee_id", "description", "created_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    DUE_DATE_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_ID_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: str
    quote_id: str
    title: str
    due_date: str
    assignee_id: str
    description: str
    created_at: str
    def __init__(self, id: _Optional[str] = ..., quote_id: _Optional[str] = ..., title: _Optional[str] = ..., due_date: _Optional[str] = ..., assignee_id: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[str] = ...) -> None: ...
