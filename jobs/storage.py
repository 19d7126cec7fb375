"""Where a stored file can be read from local disk: the file itself on local storage, or a
temporary copy streamed from S3-like storage. Measuring, review copies and streaming read
stored files this one way."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.core.files.storage import Storage
from django.db.models.fields.files import FieldFile


def disk_path(storage: Storage, name: str) -> str | None:
    """The file's path when the storage is a local disk; None for S3-like storage."""
    try:
        return storage.path(name)
    except NotImplementedError:
        return None


@contextmanager
def local_path(field_file: FieldFile) -> Iterator[str]:
    """A path on local disk for the stored file: the file itself on local storage, a temporary
    copy streamed in 1 MiB pieces from S3-like storage (removed afterwards)."""
    storage, name = field_file.storage, field_file.name or ""
    path = disk_path(storage, name)
    if path is not None:
        if not os.path.exists(path):
            raise FileNotFoundError(f"stored file {name} is missing")
        yield path
        return
    with tempfile.NamedTemporaryFile(prefix="headroom-", suffix=".audio") as tmp:
        with storage.open(name, "rb") as src:
            shutil.copyfileobj(src, tmp, 1024 * 1024)
        tmp.flush()
        yield tmp.name
