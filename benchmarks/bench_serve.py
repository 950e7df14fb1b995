"""Loopback load test of `guideminer serve`: requests/s and latency percentiles.

Starts the server in-process on 127.0.0.1 (a random free port), then `--clients` threads each
hold their own session (X-Session-Id) and send the customer turns of `--turns` in a loop, with
a bounded number of requests (`--requests`) and time (`--seconds`): nothing leaves the machine.
Also sends stateless requests (whole history each time) when `--stateless` is given.

Example: nice -n 10 .venv/bin/python benchmarks/bench_serve.py /tmp/serve-demo/agent.yaml --clients 8 --requests 400
"""

from __future__ import annotations

import argparse
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import uvicorn

from guideminer.engine import load_agent_spec
from guideminer.offline_runtime.assemble import build_engine
from guideminer.offline_runtime.config import load_runtime_config
from guideminer.offline_runtime.serve import create_app

TURNS = ["Hi", "My parcel never arrived.", "I want to return a kettle.", "I forgot my password.",
         "I want to cancel my subscription.", "I need to return this laptop. Also, what's your warranty on replacements?",
         "ok thanks"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def client_loop(url: str, index: int, budget: list[int], lock: threading.Lock, deadline: float,
                latencies: list[float], errors: list[str], stateless: bool) -> None:
    history: list[dict] = []
    with httpx.Client(timeout=30) as http:
        turn = 0
        while time.time() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            text = TURNS[turn % len(TURNS)]
            turn += 1
            history.append({"role": "user", "content": text})
            headers = {} if stateless else {"X-Session-Id": f"bench-{index}-{turn // len(TURNS)}"}
            started = time.perf_counter()
            response = http.post(url, json={"messages": history if stateless else history[-1:]}, headers=headers)
            latencies.append((time.perf_counter() - started) * 1000.0)
            if response.status_code != 200:
                errors.append(f"{response.status_code}: {response.text[:200]}")
                continue
            history.append(response.json()["choices"][0]["message"])
            if turn % len(TURNS) == 0:
                history = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", type=Path)
    parser.add_argument("--runtime-config", type=Path, default=None)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--stateless", action="store_true")
    args = parser.parse_args()
    engine = build_engine(load_agent_spec(args.spec), load_runtime_config(args.runtime_config))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(engine), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    httpx.post(url, json={"messages": [{"role": "user", "content": "warm up"}]}, timeout=60)
    budget, lock, latencies, errors = [args.requests], threading.Lock(), [], []
    started = time.perf_counter()
    deadline = time.time() + args.seconds
    workers = [threading.Thread(target=client_loop, args=(url, i, budget, lock, deadline, latencies, errors, args.stateless))
               for i in range(args.clients)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
    server.should_exit = True
    thread.join(timeout=10)
    values = np.asarray(latencies)
    print(json.dumps({"clients": args.clients, "requests": len(latencies), "errors": len(errors),
                      "seconds": round(elapsed, 2), "requests_per_s": round(len(latencies) / elapsed, 2),
                      "p50_ms": round(float(np.percentile(values, 50)), 1), "p95_ms": round(float(np.percentile(values, 95)), 1),
                      "engine_turn_ms": health["latency_ms"], "stateless": args.stateless}))
    if errors:
        print("first error:", errors[0])


if __name__ == "__main__":
    main()
