"""Putting a corpus into an index: ingest, attach (an existing index), re-embedding, and
the stored record of what an index was built with."""
