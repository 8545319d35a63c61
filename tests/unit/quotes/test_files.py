"""Attached files: the type is what the bytes and the extension both say, within the size limit."""
import io
import zipfile

import pytest

from quoteflow.errors import InvalidArgument
from services.quotes.domain.files import check_document_name, identify, identify_logo

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def ooxml(folder: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(f"{folder}/document.xml", "<x/>")
    return buffer.getvalue()


def odf(mimetype: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("mimetype", mimetype)
        archive.writestr("content.xml", "<x/>")
    return buffer.getvalue()


@pytest.mark.parametrize("name,data,content_type", [
    ("Devis signé.PDF", b"%PDF-1.7\n...", "application/pdf"),
    ("plan.png", PNG, "image/png"),
    ("photo.jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 20, "image/jpeg"),
    ("anim.gif", b"GIF89a" + b"\x00" * 10, "image/gif"),
    ("pic.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    ("offre.docx", ooxml("word"), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ("chiffrage.xlsx", ooxml("xl"), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("présentation.odp", odf("application/vnd.oasis.opendocument.presentation"),
     "application/vnd.oasis.opendocument.presentation"),
    ("ancien.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 20, "application/msword"),
    ("notes.txt", "Réunion : œuvre à 1 000 €".encode(), "text/plain"),
])
def test_accepted_files(name, data, content_type):
    assert identify(name, data) == content_type


@pytest.mark.parametrize("name,data,field,why", [
    ("virus.exe", b"MZ\x90\x00", "name", "not accepted"),
    ("sans-extension", b"%PDF-1.4", "name", "not accepted"),
    ("faux.pdf", b"MZ\x90\x00", "content", "not a .pdf"),
    ("faux.docx", ooxml("xl"), "content", "not a .docx"),
    ("faux.odt", odf("application/vnd.oasis.opendocument.spreadsheet"), "content", "not a .odt"),
    ("zip.xlsx", b"PK\x03\x04garbage", "content", "not a .xlsx"),
    ("binaire.txt", b"a\x00b", "content", "not a .txt"),
    ("vide.pdf", b"", "content", "empty"),
    ("gros.pdf", b"%PDF-" + b"0" * 100, "content", "at most 50 bytes"),
])
def test_refused_files_name_the_field(name, data, field, why):
    with pytest.raises(InvalidArgument) as error:
        identify(name, data, max_bytes=50 if name == "gros.pdf" else 10_000)
    assert why in error.value.violations[field]


@pytest.mark.parametrize("name", ["", "../etc/passwd", "a\\b.pdf", "bad\nname.pdf", "x" * 201])
def test_document_names_are_plain_file_names(name):
    with pytest.raises(InvalidArgument):
        check_document_name(name)


def test_logo_is_png_or_jpeg():
    assert identify_logo(PNG) == ("png", "image/png")
    with pytest.raises(InvalidArgument, match="PNG or JPEG"):
        identify_logo(b"GIF89a")
