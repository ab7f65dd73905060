"""An engine index's size for benchmarks: its primary store once merged into one segment, so
figures from different runs compare like with like."""

from __future__ import annotations

import time


def merged_bytes(backend, index: str) -> int:
    """The primary store of ``index`` on an engine backend, after a merge into one segment."""
    backend.client.request("POST", f"/{index}/_forcemerge", params={"max_num_segments": "1"})
    for _ in range(600):
        stats = backend.client.request("GET", f"/{index}/_stats/store,segments")
        primaries = stats["_all"]["primaries"]
        if primaries["segments"]["count"] == 1:
            return int(primaries["store"]["size_in_bytes"])
        time.sleep(1)
    raise RuntimeError(f"{index} did not merge into one segment in 10 minutes")
