"""Fixed-size digests of several texts together, for keys: each text is preceded by its
length, so no two different tuples share the input."""

from __future__ import annotations

import hashlib


def texts_digest(*texts: str, size: int = 16) -> bytes:
    """A ``size``-byte BLAKE2b digest of ``texts``, in order."""
    digest = hashlib.blake2b(digest_size=size)
    for text in texts:
        data = text.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.digest()
