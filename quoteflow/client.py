"""A small CRM-side client: gRPC stubs with the API key attached to every call."""
from __future__ import annotations

from collections import namedtuple

import grpc

from quoteflow.observability import current_traceparent

from quoteflow.v1 import notifier_pb2_grpc, quotes_pb2_grpc, signature_pb2_grpc


class _Details(namedtuple("_Details", "method timeout metadata credentials wait_for_ready compression"),
               grpc.ClientCallDetails):
    pass


class _KeyAuth(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, key: str):
        self.metadata = (("authorization", f"Bearer {key}"),)

    def intercept_unary_unary(self, continuation, details, request):
        extra = self.metadata
        traceparent = current_traceparent()
        if traceparent:
            extra += (("traceparent", traceparent),)
        details = _Details(details.method, details.timeout, tuple(details.metadata or ()) + extra,
                           details.credentials, getattr(details, "wait_for_ready", None),
                           getattr(details, "compression", None))
        return continuation(details, request)


def channel(target: str, key: str) -> grpc.Channel:
    return grpc.intercept_channel(grpc.insecure_channel(target), _KeyAuth(key))


def quotes(target: str, key: str) -> quotes_pb2_grpc.QuoteServiceStub:
    return quotes_pb2_grpc.QuoteServiceStub(channel(target, key))


def signature(target: str, key: str) -> signature_pb2_grpc.SignatureServiceStub:
    return signature_pb2_grpc.SignatureServiceStub(channel(target, key))


def notifier(target: str, key: str) -> notifier_pb2_grpc.NotifierServiceStub:
    return notifier_pb2_grpc.NotifierServiceStub(channel(target, key))
