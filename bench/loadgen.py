"""The HTTP load generator, run as its own process so it does not share the server's cores' GIL:
`python -m bench.loadgen BASE_URL KEY CONCURRENCY SECONDS CANDIDACY_ID...` prints one JSON line.

Each client is one keep-alive HTTP/1.1 connection that sends a request, reads the whole answer, and
sends the next. It speaks just enough HTTP for that, on asyncio streams: the benchmark shares its
cores with the server and PostgreSQL, and a general-purpose client (httpx) took about as much CPU
per request as the server's own Python, which the server's figures then paid for."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from urllib.parse import urlsplit

BODY = b'{"channel":"email"}'


def check_in_request(host: str, key: str, candidacy: str) -> bytes:
    return (
        f"POST /v1/candidacies/{candidacy}/check-ins HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        f"Authorization: Bearer {key}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(BODY)}\r\n"
        "\r\n"
    ).encode() + BODY


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of one response (the server sends Content-Length, never chunks)."""
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split(b" ", 2)[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def _client(address: tuple[str, int], requests: list[bytes], until: float,
                  latencies: list[float], failures: list[int], answered: asyncio.Event) -> None:
    """Sends `requests` round and round until `until`, one at a time. Sets `answered` at its first
    answer, or when it ends without one (the server refused it), so the next client is not held back."""
    index = 0
    try:
        while time.perf_counter() < until:
            reader, writer = await asyncio.open_connection(*address)
            try:
                while time.perf_counter() < until:
                    request = requests[index % len(requests)]
                    index += 1
                    started = time.perf_counter()
                    writer.write(request)
                    try:
                        status, _ = await read_response(reader)
                    except (ConnectionError, asyncio.IncompleteReadError):
                        failures.append(0)  # the connection dropped: counted, and a new one opened
                        break
                    answered.set()
                    latencies.append(time.perf_counter() - started)
                    if status != 201:
                        failures.append(status)
            finally:
                writer.close()
    finally:
        answered.set()


async def run(base_url: str, key: str, concurrency: int, seconds: float, candidacies: list[str]) -> dict:
    if concurrency > len(candidacies):
        raise ValueError(f"{concurrency} clients need at least as many candidacies, not {len(candidacies)}")
    url = urlsplit(base_url)
    address = (url.hostname or "127.0.0.1", url.port or 80)
    requests = [check_in_request(url.netloc, key, candidacy) for candidacy in candidacies]
    latencies: list[float] = []
    failures: list[int] = []
    started = time.perf_counter()
    until = started + seconds
    # Each client has candidacies of its own, so two clients never write to one stream at once
    # (that would be a 409 for one of them, a conflict the benchmark would have made up).
    # The clients connect one after another, each once the one before has had its first answer, as
    # clients arriving over time do. Opened in the same instant, they all queued on the listening
    # socket that several API processes share, and the first process to wake accepted all of them
    # (7 or 8 of 8 in most runs), leaving the other idle.
    clients = []
    for offset in range(concurrency):
        answered = asyncio.Event()
        clients.append(asyncio.create_task(
            _client(address, requests[offset::concurrency], until, latencies, failures, answered)))
        await answered.wait()
    await asyncio.gather(*clients)
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
