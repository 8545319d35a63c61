from google.protobuf import descriptor_pb2 as _descriptor_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from typing import ClassVar as _ClassVar

DESCRIPTOR: _descriptor.FileDescriptor

class Caller(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CALLER_UNSPECIFIED: _ClassVar[Caller]
    CALLER_CRM: _ClassVar[Caller]
    CALLER_SERVICE: _ClassVar[Caller]
    CALLER_ANY: _ClassVar[Caller]
CALLER_UNSPECIFIED: Caller
CALLER_CRM: Caller
CALLER_SERVICE: Caller
CALLER_ANY: Caller
CALLER_FIELD_NUMBER: _ClassVar[int]
caller: _descriptor.FieldDescriptor
