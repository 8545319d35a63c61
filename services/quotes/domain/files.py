"""What a file attached to a quote may be: its type told by its first bytes *and* its extension.

A file is accepted only when both agree (a ``.pdf`` that is not a PDF, or a PDF named
``.docx``, is refused), so the content type given to clients is never the sender's word.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from quoteflow.errors import InvalidArgument
from quoteflow.ids import has_control_characters

MAX_DOCUMENT_BYTES = 10 * 1024 * 1024
MAX_DOCUMENTS = 20
MAX_LOGO_BYTES = 1024 * 1024

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"

# extension -> (content type, family)
TYPES: dict[str, tuple[str, str]] = {
    "pdf": ("application/pdf", "pdf"),
    "png": ("image/png", "png"),
    "jpg": ("image/jpeg", "jpeg"),
    "jpeg": ("image/jpeg", "jpeg"),
    "gif": ("image/gif", "gif"),
    "webp": ("image/webp", "webp"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "ooxml:word/"),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "ooxml:xl/"),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", "ooxml:ppt/"),
    "odt": ("application/vnd.oasis.opendocument.text", "odf"),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", "odf"),
    "odp": ("application/vnd.oasis.opendocument.presentation", "odf"),
    "doc": ("application/msword", "ole"),
    "xls": ("application/vnd.ms-excel", "ole"),
    "ppt": ("application/vnd.ms-powerpoint", "ole"),
    "csv": ("text/csv", "text"),
    "txt": ("text/plain", "text"),
}


@dataclass(frozen=True)
class Document:
    """A file attached to a quote, stored in the blob store by its SHA-256."""

    name: str
    content_type: str
    sha256: str
    size: int


def _magic_matches(family: str, data: bytes, content_type: str) -> bool:
    if family == "pdf":
        return data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"%PDF-")
    if family == "png":
        return data.startswith(b"\x89PNG\r\n\x1a\n")
    if family == "jpeg":
        return data.startswith(b"\xff\xd8\xff")
    if family == "gif":
        return data[:6] in (b"GIF87a", b"GIF89a")
    if family == "webp":
        return data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if family == "ole":
        return data.startswith(_OLE)
    if family == "text":
        if b"\x00" in data:
            return False
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            try:
                data.decode("cp1252")
            except UnicodeDecodeError:
                return False
        return True
    if not data.startswith(_ZIP):
        return False
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = archive.namelist()
            if family == "odf":
                return "mimetype" in names and archive.read("mimetype").strip() == content_type.encode()
            prefix = family.split(":", 1)[1]
            return "[Content_Types].xml" in names and any(n.startswith(prefix) for n in names)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, NotImplementedError, RuntimeError):
        return False


def check_document_name(name: str, field: str = "name") -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidArgument({field: "is required (the file name with its extension)"})
    if len(name) > 200:
        raise InvalidArgument({field: "at most 200 characters"})
    if has_control_characters(name, allow_newlines=False) or any(c in name for c in "/\\"):
        raise InvalidArgument({field: "must be a plain file name (no path, no control characters)"})
    return name


def identify(name: str, data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES,
             allowed: tuple[str, ...] | None = None, name_field: str = "name",
             content_field: str = "content") -> str:
    """The content type of an accepted file, or InvalidArgument naming what is wrong."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    kinds = allowed or tuple(TYPES)
    if extension not in kinds:
        raise InvalidArgument({name_field: f"a .{extension or '?'} file is not accepted; accepted: "
                                           + ", ".join(f".{k}" for k in kinds)})
    if not data:
        raise InvalidArgument({content_field: "is empty"})
    if len(data) > max_bytes:
        raise InvalidArgument({content_field: f"{len(data)} bytes; at most {max_bytes} bytes"})
    content_type, family = TYPES[extension]
    if not _magic_matches(family, data, content_type):
        raise InvalidArgument({content_field: f"the bytes are not a .{extension} file ({content_type})"})
    return content_type


def identify_logo(data: bytes) -> tuple[str, str]:
    """(extension, content type) of a PNG or JPEG logo, by its first bytes."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpg", "image/jpeg"
    raise InvalidArgument({"logo": "must be a PNG or JPEG image"})
