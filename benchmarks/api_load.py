"""How many dashboard requests the API answers, against a trivial FastAPI endpoint as the ceiling.

Loads 30 business days x 11 stores into a fresh local platform (store-day summaries, upload
tracking, and the daily analysis' company summary, product days and insights, written to the
SQLite table as the pipeline writes them), starts `sales-platform api` and, in the same run, a
one-endpoint FastAPI app served by uvicorn with the same options, then drives each with
50 concurrent connections for 20 s on loopback:

  ceiling     GET /ping on the trivial app ({"ok": true})
  analytics   GET /analytics (the latest day, with the API key)
  trends      GET /trends (30 days, with the API key)

and prints requests/s, p50 and p99 latency, and analytics' share of the ceiling. The load comes
from wrk when it is installed (Debian: `apt-get install wrk`), else from an asyncio + httpx
generator in its own process. It then lists a bucket of thousands of processed and refused
files through /files, cold (every refusal report read) and warm.

    python benchmarks/api_load.py [--duration 20] [--connections 50] [--files 3000] [--tool auto|wrk|python]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

KEY = "benchmark-key-0123456789abcdef"
STORES = [f"{n:04d}" for n in range(1, 12)]
DAYS = 30
PRODUCTS = 40
LAST_DAY = dt.date(2026, 11, 20)


# --------------------------------------------------------------------------- data


def _cents(value: float) -> Decimal:
    return Decimal(f"{value:.2f}")


def load_days(home: Path) -> None:
    from sales_platform.resources.sqlite_metrics_table import SqliteMetricsTable

    table = SqliteMetricsTable(home / "sales.db")
    rng = random.Random(7)
    methods = ["cash", "credit", "debit", "gift_card", "mobile"]
    items = []
    for offset in range(DAYS):
        day = (LAST_DAY - dt.timedelta(days=DAYS - 1 - offset)).isoformat()
        company_net = Decimal(0)
        for store in STORES:
            gross = _cents(rng.uniform(4000, 12000))
            discount = _cents(float(gross) * rng.uniform(0.01, 0.05))
            net = gross - discount
            company_net += net
            transactions = rng.randint(150, 400)
            items.append(
                {
                    "PK": f"STORE#{store}",
                    "SK": f"DATE#{day}",
                    "GSI1PK": f"DATE#{day}",
                    "GSI1SK": f"STORE#{store}",
                    "item_type": "STORE_DAY_SUMMARY",
                    "store_id": store,
                    "date": day,
                    "total_sales": gross,
                    "total_discount": discount,
                    "net_sales": net,
                    "transaction_count": transactions,
                    "line_item_count": transactions * 3,
                    "item_count": transactions * 5,
                    "unique_customers": transactions - 20,
                    "avg_transaction": _cents(float(net) / transactions),
                    "top_products": [
                        {
                            "sku": f"SKU-{n:04d}",
                            "name": f"Product {n}",
                            "units": rng.randint(5, 60),
                            "net_revenue": _cents(rng.uniform(50, 900)),
                        }
                        for n in rng.sample(range(PRODUCTS), 5)
                    ],
                    "payment_breakdown": {method: _cents(float(net) / len(methods)) for method in methods},
                    "first_sale_at": f"{day}T13:00:00Z",
                    "last_sale_at": f"{day}T23:00:00Z",
                    "source_file": f"store_{store}_{day}.json",
                    "processed_key": f"processed/year={day[:4]}/month={day[5:7]}/day={day[8:]}/store_id={store}/data.parquet",
                    "processed_at": f"{day}T23:30:00Z",
                }
            )
            items.append(
                {
                    "PK": f"DATE#{day}",
                    "SK": f"UPLOAD#STORE#{store}",
                    "item_type": "UPLOAD_TRACKING",
                    "store_id": store,
                    "date": day,
                    "status": "processed",
                    "source_file": f"store_{store}_{day}.json",
                    "source_version": "v1",
                    "rows": transactions * 3,
                    "processed_at": f"{day}T23:30:00Z",
                }
            )
        items.append(
            {
                "PK": f"DATE#{day}",
                "SK": "SUMMARY#COMPANY",
                "item_type": "COMPANY_SUMMARY",
                "date": day,
                "net_sales": company_net,
                "reported_stores": list(STORES),
                "missing_stores": [],
                "stores_reported": len(STORES),
                "stores_expected": len(STORES),
                "trigger": "complete",
                "analyzed_at": f"{day}T23:45:00Z",
            }
        )
        for rank, n in enumerate(rng.sample(range(PRODUCTS), PRODUCTS), start=1):
            revenue = _cents(rng.uniform(100, 5000))
            items.append(
                {
                    "PK": f"DATE#{day}",
                    "SK": f"PRODUCT#SKU-{n:04d}",
                    "GSI1PK": f"PRODUCT#SKU-{n:04d}",
                    "GSI1SK": f"DATE#{day}",
                    "item_type": "PRODUCT_DAY",
                    "date": day,
                    "sku": f"SKU-{n:04d}",
                    "name": f"Product {n}",
                    "units": rng.randint(10, 400),
                    "gross_revenue": revenue + 10,
                    "net_revenue": revenue,
                    "stores_sold": 11,
                    "rank": rank,
                }
            )
        for kind, count in (("anomaly", 4), ("trend", 3), ("recommendation", 3)):
            for n in range(count):
                items.append(
                    {
                        "PK": f"DATE#{day}",
                        "SK": f"INSIGHT#{kind.upper()}#{kind}-{n}",
                        "GSI1PK": f"INSIGHT#{kind}",
                        "GSI1SK": f"DATE#{day}",
                        "item_type": "INSIGHT",
                        "date": day,
                        "insight_type": kind,
                        "insight_id": f"{kind}-{n}",
                        "engine": "rules",
                        "written_at": f"{day}T23:50:00Z",
                        "title": f"{kind} {n}",
                        "description": "A sentence or two explaining what happened and why it matters.",
                        "severity": "warning",
                        "priority": "medium",
                        "significance": "medium",
                        "store_id": STORES[n],
                    }
                )
    table.put_items(items)
    print(f"loaded {DAYS} days x {len(STORES)} stores: {len(items):,} table items")


def load_files(bucket: Path, count: int) -> None:
    for n in range(count):
        day = (LAST_DAY - dt.timedelta(days=n // len(STORES) % 365)).isoformat()
        store = STORES[n % len(STORES)]
        processed = (
            bucket / "processed" / f"year={day[:4]}" / f"month={day[5:7]}" / f"day={day[8:]}" / f"store_id={store}-{n}"
        )
        processed.mkdir(parents=True, exist_ok=True)
        (processed / "data.parquet").write_bytes(b"PAR1" * 64)
        rejected = bucket / "rejected"
        rejected.mkdir(parents=True, exist_ok=True)
        name = f"store_{store}_{day}-{n}.json"
        (rejected / name).write_bytes(b"{" * 100)
        report = {
            "summary": f"row {n} quantity: must be a whole number",
            "problem_count": n % 7 + 1,
            "status": "rejected",
            "problems": [{"row": n, "field": "quantity", "message": "must be a whole number"}] * 20,
        }
        (rejected / f"{name}.error.json").write_text(json.dumps(report))


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_ceiling(port: int) -> None:
    import uvicorn
    from fastapi import FastAPI

    from sales_platform.api.server import server_options

    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict:
        return {"ok": True}

    # The same uvicorn options as `sales-platform api`.
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info", **server_options())


def start(command: list[str], env: dict[str, str], url: str, log: Path) -> subprocess.Popen:
    import httpx2 as httpx

    process = subprocess.Popen(
        command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, headers={"X-Api-Key": KEY}, timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{command} did not answer {url}:\n{log.read_text()[-2000:]}")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


# --------------------------------------------------------------------------- load


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(url: str, connections: int, duration: int) -> dict:
    output = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "-H", f"X-Api-Key: {KEY}", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)$", output, re.MULTILINE))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50": _ms(latency["50"]),
        "p99": _ms(latency["99"]),
        "errors": int(errors.group(1)) if errors else 0,
    }


async def _python_load(url: str, connections: int, duration: int) -> dict:
    import httpx2 as httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(limits=limits, headers={"X-Api-Key": KEY}, timeout=30) as client:
        end = time.perf_counter() + duration

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < end:
                started = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - started) * 1000)
                errors += response.status_code != 200

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed,
        "p50": statistics.median(latencies),
        "p99": latencies[int(len(latencies) * 0.99) - 1],
        "errors": errors,
    }


def python_load(url: str, connections: int, duration: int) -> dict:
    """The generator in its own process, so it does not share an interpreter with a server."""
    code = (
        "import asyncio, json, sys; sys.path.insert(0, sys.argv[4]); import api_load; "
        "print(json.dumps(asyncio.run(api_load._python_load(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))))"
    )
    output = subprocess.run(
        [sys.executable, "-c", code, url, str(connections), str(duration), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def time_listing(url: str, repeat: int = 5) -> tuple[float, list[float], int]:
    import httpx2 as httpx

    with httpx.Client(headers={"X-Api-Key": KEY}, timeout=120) as client:
        started = time.perf_counter()
        count = client.get(url).json()["count"]
        cold = time.perf_counter() - started
        warm = []
        for _ in range(repeat):
            started = time.perf_counter()
            client.get(url)
            warm.append(time.perf_counter() - started)
    return cold, warm, count


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--files", type=int, default=3000, help="processed and refused files each, for /files")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--serve-ceiling", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_ceiling:
        serve_ceiling(args.serve_ceiling)
        return
    tool = ("wrk" if shutil.which("wrk") else "python") if args.tool == "auto" else args.tool
    load = wrk if tool == "wrk" else python_load

    with tempfile.TemporaryDirectory(prefix="sales-platform-api-bench-") as folder:
        home = Path(folder) / "home"
        load_days(home)
        env = {
            name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "SALES_PLATFORM_"))
        } | {
            "SALES_PLATFORM_HOME": str(home),
            "API_KEYS": KEY,
            "EXPECTED_STORES": ",".join(STORES),
            "LOG_LEVEL": "INFO",
        }
        api_port, ceiling_port = free_port(), free_port()
        script = Path(sys.executable).with_name("sales-platform")
        api = start(
            [str(script), "api", "--port", str(api_port)],
            env,
            f"http://127.0.0.1:{api_port}/health",
            Path(folder) / "api.log",
        )
        ceiling = start(
            [sys.executable, __file__, "--serve-ceiling", str(ceiling_port)],
            env,
            f"http://127.0.0.1:{ceiling_port}/ping",
            Path(folder) / "ceiling.log",
        )
        try:
            targets = {
                "ceiling (GET /ping, trivial FastAPI)": f"http://127.0.0.1:{ceiling_port}/ping",
                "GET /analytics": f"http://127.0.0.1:{api_port}/analytics",
                "GET /trends": f"http://127.0.0.1:{api_port}/trends",
            }
            for url in targets.values():  # warm both servers and the API's answer cache
                load(url, 4, 2)
            print(
                f"\n{args.connections} connections, {args.duration} s each, load from {tool}, on {os.cpu_count()} cores"
            )
            print(f"{'endpoint':<38} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-200':>8}")
            results = {}
            for name, url in targets.items():
                results[name] = figures = load(url, args.connections, args.duration)
                print(
                    f"{name:<38} {figures['rps']:>9.0f} {figures['p50']:>8.2f} {figures['p99']:>8.2f} {figures['errors']:>8}"
                )
            ceiling_rps = results["ceiling (GET /ping, trivial FastAPI)"]["rps"]
            for name in ("GET /analytics", "GET /trends"):
                share = results[name]["rps"] / ceiling_rps
                print(
                    f"{name}: {share:.0%} of the ceiling's throughput, p99 {results[name]['p99']:.1f} ms (goal: >= 50%, < 50 ms)"
                )

            load_files(home / "bucket", args.files)
            cold, warm, count = time_listing(f"http://127.0.0.1:{api_port}/files")
            print(
                f"\nGET /files over {count:,} files ({args.files:,} processed, {args.files:,} refused with reports): "
                f"first {cold * 1000:.0f} ms (every report read), then median {statistics.median(warm) * 1000:.0f} ms"
            )
        finally:
            stop(api)
            stop(ceiling)


if __name__ == "__main__":
    main()
