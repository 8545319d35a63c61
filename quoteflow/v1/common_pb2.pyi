from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class QuoteLine(_message.Message):
    __slots__ = ("description", "product_ref", "quantity", "unit", "unit_price", "discount_percent", "vat_rate", "total_ht")
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_REF_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_FIELD_NUMBER: _ClassVar[int]
    DISCOUNT_PERCENT_FIELD_NUMBER: _ClassVar[int]
    VAT_RATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_HT_FIELD_NUMBER: _ClassVar[int]
    description: str
    product_ref: str
    quantity: str
    unit: str
    unit_price: str
    discount_percent: str
    vat_rate: str
    total_ht: str
    def __init__(self, description: _Optional[str] = ..., product_ref: _Optional[str] = ..., quantity: _Optional[str] = ..., unit: _Optional[str] = ..., unit_price: _Optional[str] = ..., discount_percent: _Optional[str] = ..., vat_rate: _Optional[str] = ..., total_ht: _Optional[str] = ...) -> None: ...

class VatAmount(_message.Message):
    __slots__ = ("rate", "base_ht", "vat")
    RATE_FIELD_NUMBER: _ClassVar[int]
    BASE_HT_FIELD_NUMBER: _ClassVar[int]
    VAT_FIELD_NUMBER: _ClassVar[int]
    rate: str
    base_ht: str
    vat: str
    def __init__(self, rate: _Optional[str] = ..., base_ht: _Optional[str] = ..., vat: _Optional[str] = ...) -> None: ...

class Totals(_message.Message):
    __slots__ = ("total_ht", "vat", "total_vat", "total_ttc", "currency")
    TOTAL_HT_FIELD_NUMBER: _ClassVar[int]
    VAT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VAT_FIELD_NUMBER: _ClassVar[int]
    TOTAL_TTC_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    total_ht: str
    vat: _containers.RepeatedCompositeFieldContainer[VatAmount]
    total_vat: str
    total_ttc: str
    currency: str
    def __init__(self, total_ht: _Optional[str] = ..., vat: _Optional[_Iterable[_Union[VatAmount, _Mapping]]] = ..., total_vat: _Optional[str] = ..., total_ttc: _Optional[str] = ..., currency: _Optional[str] = ...) -> None: ...

class Party(_message.Message):
    __slots__ = ("id", "name", "email", "phone", "address")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    email: str
    phone: str
    address: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class Company(_message.Message):
    __slots__ = ("name", "address", "siret", "vat_number")
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    SIRET_FIELD_NUMBER: _ClassVar[int]
    VAT_NUMBER_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    siret: str
    vat_number: str
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., siret: _Optional[str] = ..., vat_number: _Optional[str] = ...) -> None: ...

class QuoteSnapshot(_message.Message):
    __slots__ = ("quote_id", "number", "title", "version", "issued_on", "valid_until", "company", "account", "contact", "assignee", "lines", "totals", "terms", "optional_lines", "documents", "branding")
    QUOTE_ID_FIELD_NUMBER: _ClassVar[int]
    NUMBER_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ISSUED_ON_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    COMPANY_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CONTACT_FIELD_NUMBER: _ClassVar[int]
    ASSIGNEE_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    TERMS_FIELD_NUMBER: _ClassVar[int]
    OPTIONAL_LINES_FIELD_NUMBER: _ClassVar[int]
    DOCUMENTS_FIELD_NUMBER: _ClassVar[int]
    BRANDING_FIELD_NUMBER: _ClassVar[int]
    quote_id: str
    number: str
    title: str
    version: int
    issued_on: str
    valid_until: str
    company: Company
    account: Party
    contact: Party
    assignee: Party
    lines: _containers.RepeatedCompositeFieldContainer[QuoteLine]
    totals: Totals
    terms: str
    optional_lines: _containers.RepeatedCompositeFieldContainer[QuoteLine]
    documents: _containers.RepeatedCompositeFieldContainer[Attachment]
    branding: Branding
    def __init__(self, quote_id: _Optional[str] = ..., number: _Optional[str] = ..., title: _Optional[str] = ..., version: _Optional[int] = ..., issued_on: _Optional[str] = ..., valid_until: _Optional[str] = ..., company: _Optional[_Union[Company, _Mapping]] = ..., account: _Optional[_Union[Party, _Mapping]] = ..., contact: _Optional[_Union[Party, _Mapping]] = ..., assignee: _Optional[_Union[Party, _Mapping]] = ..., lines: _Optional[_Iterable[_Union[QuoteLine, _Mapping]]] = ..., totals: _Optional[_Union[Totals, _Mapping]] = ..., terms: _Optional[str] = ..., optional_lines: _Optional[_Iterable[_Union[QuoteLine, _Mapping]]] = ..., documents: _Optional[_Iterable[_Union[Attachment, _Mapping]]] = ..., branding: _Optional[_Union[Branding, _Mapping]] = ...) -> None: ...

class Attachment(_message.Message):
    __slots__ = ("name", "content_type", "sha256", "size")
    NAME_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    name: str
    content_type: str
    sha256: str
    size: int
    def __init__(self, name: _Optional[str] = ..., content_type: _Optional[str] = ..., sha256: _Optional[str] = ..., size: _Optional[int] = ...) -> None: ...

class Branding(_message.Message):
    __slots__ = ("logo_sha256", "logo_content_type", "color")
    LOGO_SHA256_FIELD_NUMBER: _ClassVar[int]
    LOGO_CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    COLOR_FIELD_NUMBER: _ClassVar[int]
    logo_sha256: str
    logo_content_type: str
    color: str
    def __init__(self, logo_sha256: _Optional[str] = ..., logo_content_type: _Optional[str] = ..., color: _Optional[str] = ...) -> None: ...
