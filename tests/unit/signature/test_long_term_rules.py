"""The PAdES level a seal reaches, how the proof says it, when a document timestamp is due, and which hashes name
a file's revisions (an extended file still holds the file sealed at signing)."""
import hashlib
from datetime import datetime, timedelta, timezone

import pytest

from services.signature.adapters.archive import LastTimestamp, archive_due, ends_with_a_revision, revision_sha256s
from services.signature.domain.model import pades_level, seal_level_text

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("timestamped, validation_data, archive_timestamps, level", [
    (False, False, 0, "B-B"),
    (False, True, 1, "B-B"),      # validation data without a timestamp is no B-LT
    (True, False, 0, "B-T"),
    (True, False, 2, "B-T"),      # document timestamps without validation data are no B-LTA
    (True, True, 0, "B-LT"),
    (True, True, 1, "B-LTA"),
])
def test_each_level_needs_the_one_below(timestamped, validation_data, archive_timestamps, level):
    assert pades_level(timestamped=timestamped, validation_data=validation_data,
                       archive_timestamps=archive_timestamps) == level


def test_the_proof_says_the_level_plainly_in_french():
    assert seal_level_text("B-LTA") == "PAdES B-LTA (données de validation et horodatage d'archive intégrés)"
    assert seal_level_text("B-T") == "PAdES B-T (signature horodatée par une autorité d'horodatage)"
    assert seal_level_text("") == "" and seal_level_text("B-X") == ""


def test_a_timestamp_is_renewed_when_old_or_when_its_authority_expires_soon():
    fresh = LastTimestamp(at=NOW - timedelta(days=10), tsa_expires=NOW + timedelta(days=900))
    assert not archive_due(fresh, NOW, older_than=timedelta(days=365), tsa_margin=timedelta(days=180))
    old = LastTimestamp(at=NOW - timedelta(days=365), tsa_expires=NOW + timedelta(days=900))
    assert archive_due(old, NOW, older_than=timedelta(days=365), tsa_margin=timedelta(days=180))
    expiring = LastTimestamp(at=NOW - timedelta(days=10), tsa_expires=NOW + timedelta(days=179))
    assert archive_due(expiring, NOW, older_than=timedelta(days=365), tsa_margin=timedelta(days=180))
    unknown_authority = LastTimestamp(at=NOW - timedelta(days=10), tsa_expires=None)
    assert not archive_due(unknown_authority, NOW, older_than=timedelta(days=365), tsa_margin=timedelta(days=180))


def test_every_revision_of_an_extended_file_is_named_by_its_hash():
    sealed = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\nsignature revision\n%%EOF\n"
    extended = sealed + b"document timestamp revision\n%%EOF\r\n"
    hashes = revision_sha256s(extended)
    assert hashlib.sha256(sealed).hexdigest() in hashes
    assert hashes[-1] == hashlib.sha256(extended).hexdigest() and len(hashes) == 3
    assert ends_with_a_revision(extended) and not ends_with_a_revision(extended + b"% added later\n")
