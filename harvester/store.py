"""The content-addressed body store: every fetched byte kept under its sha256.

The database can always be rebuilt from here (`ogi reparse`); nothing is ever overwritten or deleted.
"""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path


class BlobStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self._root = str(self.root)
        self._folders: set[str] = set()     # at most 256: the sha256[:2] folders known to exist

    def relpath(self, sha256: str) -> str:
        return f"blobs/{sha256[:2]}/{sha256}"

    def path(self, sha256: str) -> Path:
        return self.root / self.relpath(sha256)

    def put(self, data: bytes) -> tuple[str, str]:
        """Store bytes; return (sha256, path relative to the data directory). Idempotent."""
        sha = hashlib.sha256(data).hexdigest()
        rel = self.relpath(sha)
        target = os.path.join(self._root, rel)
        if not os.path.exists(target):
            folder = os.path.dirname(target)
            if folder not in self._folders:
                os.makedirs(folder, exist_ok=True)
                self._folders.add(folder)
            # Write then rename, so a crash never leaves a half-written blob under a valid name. One
            # temporary name per process and thread (not mkstemp's random one, twice the cost); a
            # leftover from a killed process is truncated when its pid comes round again.
            tmp = os.path.join(folder, f".tmp-{os.getpid()}-{threading.get_ident()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
            finally:
                os.close(fd)
            os.replace(tmp, target)
        return sha, rel

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()
