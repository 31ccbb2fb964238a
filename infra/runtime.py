"""How a Followup process runs Python's cyclic garbage collector."""

from __future__ import annotations

import gc

# Python's defaults (700, 10, 10) run a young collection every 700 new container objects, and an older one
# every 10 of those. A projection's catch-up builds hundreds of thousands of objects that live for a whole
# batch (each candidacy's facts, its items): at the defaults the collector walked them again and again,
# a quarter of the process's CPU when catching the follow-up queue up on a million events (62 s of CPU,
# 46 s with these). Reference cycles are rare in this code (nearly everything is freed by reference
# counting), so collecting less often keeps little garbage a little longer.
GC_THRESHOLDS = (50_000, 20, 100)


def collect_garbage_less_often() -> None:
    """Set this process's collector thresholds to GC_THRESHOLDS (a server, a projection runner, a benchmark)."""
    gc.set_threshold(*GC_THRESHOLDS)
