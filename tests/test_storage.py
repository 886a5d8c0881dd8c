"""Schema migrations match the models on every backend; the archive is content-addressed."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import Archive
from storage.models import Base


def test_alembic_head_creates_exactly_the_schema_of_the_models(db):
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata)
    assert diff == []


def test_migrating_twice_is_harmless(db):
    db.migrate()


def test_archive_stores_by_digest_and_never_by_a_senders_name(tmp_path):
    archive = Archive(tmp_path)
    digest = archive.put("files", b"hello")
    assert archive.get("files", digest) == b"hello"
    assert archive.put("files", b"hello") == digest
    with pytest.raises(ValueError):
        archive.path("files", "../../etc/passwd")
