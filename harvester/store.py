"""The content-addressed body store: every fetched byte kept under its sha256.

The database can always be rebuilt from here (`ogi reparse`); nothing is ever overwritten or deleted.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def relpath(self, sha256: str) -> str:
        return f"blobs/{sha256[:2]}/{sha256}"

    def path(self, sha256: str) -> Path:
        return self.root / self.relpath(sha256)

    def put(self, data: bytes) -> tuple[str, str]:
        """Store bytes; return (sha256, path relative to the data directory). Idempotent."""
        sha = hashlib.sha256(data).hexdigest()
        target = self.path(sha)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a crash never leaves a half-written blob under a valid name.
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
        return sha, self.relpath(sha)

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
