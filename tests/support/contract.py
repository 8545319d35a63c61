"""The gRPC contract as the generated descriptors state it: every service and rpc in quoteflow/v1, found, not listed."""
from __future__ import annotations

import pkgutil
from importlib import import_module
from types import ModuleType

from google.protobuf import descriptor

import quoteflow.v1


def grpc_modules() -> list[ModuleType]:
    """Every generated ``*_pb2`` module of quoteflow/v1 that declares a service."""
    modules = [import_module(f"quoteflow.v1.{info.name}") for info in pkgutil.iter_modules(quoteflow.v1.__path__)
               if info.name.endswith("_pb2")]
    return [m for m in modules if m.DESCRIPTOR.services_by_name]


def contract_methods() -> list[descriptor.MethodDescriptor]:
    return [m for module in grpc_modules() for s in module.DESCRIPTOR.services_by_name.values() for m in s.methods]


def path_of(method: descriptor.MethodDescriptor) -> str:
    """The gRPC path a call to ``method`` travels on: /package.Service/Method."""
    return f"/{method.containing_service.full_name}/{method.name}"
