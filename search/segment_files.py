"""Opening the index's segment files without copying them (a fix to Whoosh 2.7.4, applied on import).

Whoosh memory-maps each compound segment file, then wraps every file inside it in a `BufferFile`
whose constructor copies the whole memory view into a `BytesIO`. For the segment a rebuild writes
(tens of megabytes of postings) that copy is most of the ~70 ms it costs to open a reader, and Whoosh
opens readers for every segment on every `update_document`, every commit and every searcher
refresh: the main part of the delay between a post and it being searchable. Here a `BufferFile`
reads straight from the memory view instead.
"""

from __future__ import annotations

import io
import os

from whoosh.filedb import structfile

READ_BUFFER = 4096  # bytes read ahead: a posting block's header and more, without copying a whole file


class ViewReader(io.RawIOBase):
    """A read-only, seekable raw file over a memory view (or bytes), reading without copying it first.

    Wrapped in an `io.BufferedReader`, so the many small reads Whoosh makes (a block header, a
    pickle) are served from a small buffer in C, not by a Python call each.
    """

    def __init__(self, view) -> None:
        super().__init__()
        self._view = view if isinstance(view, memoryview) else memoryview(view)
        self._size = len(self._view)
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        start = self._pos
        end = min(self._size, start + len(buffer))
        if end <= start:
            return 0
        buffer[:end - start] = self._view[start:end]
        self._pos = end
        return end - start

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence == os.SEEK_END:
            offset += self._size
        self._pos = max(0, offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        # The view belongs to the BufferFile (and the mmap behind it): drop our reference only.
        self._view = memoryview(b"")
        self._size = self._pos = 0
        super().close()


def _buffer_file_init(self, buf, name=None, onclose=None) -> None:
    self._buf = buf
    self._name = name
    self.file = io.BufferedReader(ViewReader(buf), buffer_size=READ_BUFFER)
    self.onclose = onclose
    self.is_real = False
    self.is_closed = False


def install() -> None:
    """Make Whoosh's BufferFile read from its buffer instead of a private copy (idempotent)."""
    structfile.BufferFile.__init__ = _buffer_file_init


install()
