"""The HTTP load generator, run as its own process so it does not share the server's cores' GIL:
`python -m bench.loadgen BASE_URL KEY CONCURRENCY SECONDS CANDIDACY_ID...` prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time

import httpx


async def _client(client: httpx.AsyncClient, candidacies: list[str], offset: int, stride: int,
                   until: float, latencies: list[float], failures: list[int]) -> None:
    index = offset
    while time.perf_counter() < until:
        candidacy = candidacies[index % len(candidacies)]
        index += stride
        started = time.perf_counter()
        response = await client.post(f"/v1/candidacies/{candidacy}/check-ins", json={"channel": "email"})
        latencies.append(time.perf_counter() - started)
        if response.status_code != 201:
            failures.append(response.status_code)


async def run(base_url: str, key: str, concurrency: int, seconds: float, candidacies: list[str]) -> dict:
    latencies: list[float] = []
    failures: list[int] = []
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {key}"},
                                 limits=limits, timeout=30) as client:
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(
            _client(client, candidacies, offset, concurrency, until, latencies, failures)
            for offset in range(concurrency)
        ))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "failure_statuses": sorted(set(failures)),
        "per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000 if latencies else 0.0,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else 0.0,
    }


if __name__ == "__main__":
    base_url, key, concurrency, seconds, *candidacy_ids = sys.argv[1:]
    print(json.dumps(asyncio.run(run(base_url, key, int(concurrency), float(seconds), candidacy_ids))))
