"""Report API benchmark against a running worker (not a test; prints figures).

    python -m bench.api --url http://127.0.0.1:6066 --reports 50 --gets 5000 --concurrency 32

* trigger -> Complete latency: ``--reports`` reports one after another (trigger, then poll
  ``/get_report/<id>`` every ``--poll-ms`` until it is no longer Running): p50 / p99 / max;
* ``get_report`` throughput: ``--gets`` downloads of one finished report's CSV by
  ``--concurrency`` clients: requests per second, errors.

Uses ``STREAMPROC_API_TOKEN`` as bearer token if set. :func:`run_bench` returns the
figures as a dict for callers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from typing import Any

import aiohttp

from streamproc import config
from streamproc.sandbox.stats import percentile


async def _one_report(session: aiohttp.ClientSession, base: str,
                      poll_s: float) -> tuple[float, str, int]:
    """Trigger a report and poll it until Complete: (seconds, report id, CSV bytes)."""
    started = time.perf_counter()
    async with session.post(base + "/trigger_report", json={}) as resp:
        resp.raise_for_status()
        report_id = (await resp.json())["report_id"]
    while True:
        async with session.get(f"{base}/get_report/{report_id}") as resp:
            resp.raise_for_status()
            status = resp.headers.get("X-Report-Status")
            body = await resp.read()
        if status == "Complete":
            return time.perf_counter() - started, report_id, len(body)
        if status != "Running":
            raise RuntimeError(f"report {report_id} ended {status}")
        await asyncio.sleep(poll_s)


async def run_bench(base: str, reports: int = 50, gets: int = 5000, concurrency: int = 32,
                    poll_ms: float = 5.0, token: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    connector = aiohttp.TCPConnector(limit=concurrency * 2)
    async with aiohttp.ClientSession(headers=headers, connector=connector) as session:
        await _one_report(session, base, poll_ms / 1000)  # warm up
        latencies = [(await _one_report(session, base, poll_ms / 1000))[0]
                     for _ in range(reports)]
        _, report_id, size = await _one_report(session, base, 0.05)

        errors = 0
        remaining = gets

        async def client() -> None:
            nonlocal errors, remaining
            while remaining > 0:
                remaining -= 1
                try:
                    async with session.get(f"{base}/get_report/{report_id}") as r:
                        data = await r.read()
                        if r.status != 200 or len(data) != size:
                            errors += 1
                except aiohttp.ClientError:
                    errors += 1

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "reports": reports,
        "trigger_to_complete_p50_s": statistics.median(latencies),
        "trigger_to_complete_p99_s": percentile(latencies, 0.99),
        "trigger_to_complete_max_s": max(latencies),
        "report_bytes": size,
        "gets": gets,
        "get_concurrency": concurrency,
        "get_rps": gets / elapsed,
        "get_errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    settings = config.load()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{settings.web_port}")
    parser.add_argument("--reports", type=int, default=50)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--poll-ms", type=float, default=5.0)
    args = parser.parse_args(argv)
    figures = asyncio.run(run_bench(args.url.rstrip("/"), args.reports, args.gets,
                                    args.concurrency, args.poll_ms, settings.api_token))
    for key, value in figures.items():
        print(f"{key:28} {value:.4f}" if isinstance(value, float) else f"{key:28} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
