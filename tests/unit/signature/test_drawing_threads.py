"""Pages drawn by several threads at once (two signatures sealed at the same moment): reportlab's TrueType
fonts share their subsetting state, so the signature service draws one document at a time."""
from __future__ import annotations

import hashlib
import threading
from datetime import datetime, timezone

from services.signature.adapters import documents
from services.signature.domain.model import SealDetails


def details(n: int) -> SealDetails:
    # Many distinct glyphs per page: each drawing adds its own characters to the shared font subset.
    name = "Zoé Bérénice " + "".join(chr(0x100 + (n * 37 + i) % 0x17f) for i in range(40))
    return SealDetails(signer_name=name, signer_email="zoe@client.fr",
                       signed_at=datetime(2026, 7, 14, 16, 5, tzinfo=timezone.utc), reference=f"request-{n}",
                       number="DV-2026-00042", version=1, document_sha256=hashlib.sha256(b"%d" % n).hexdigest(),
                       consent_text="En signant, j'accepte le devis n° DV-2026-00042.", signature_png=None)


def test_pages_drawn_by_many_threads_at_once_all_come_out():
    errors, pages = [], []
    start = threading.Barrier(12)

    def draw(n: int) -> None:
        start.wait()
        try:
            for _ in range(8):
                pages.append(documents.certificate_page(details(n), 595, 842).pdf)
                pages.append(documents.signature_stamp(details(n), 240, 70))
        except Exception as error:  # noqa: BLE001 -- collected, asserted below
            errors.append(repr(error))

    threads = [threading.Thread(target=draw, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert len(pages) == 192 and all(page.startswith(b"%PDF") for page in pages)
