"""Proof-of-liabilities build at N customers, beside pymerkle and the raw SHA-256 bound.

Workload: `caspr generate --profile jp-large --format parquet` with N accounts, then
`caspr por build` (the tree and every customer's proof store, caspr-por/1, 16 assets).
In the same run:
  * pymerkle (PyPI, a plain RFC 9162 tree, no sums) appends the same leaf messages; run on
    min(N, --peer-max) leaves and reported as leaves per second;
  * the SHA-256 bound: the hashes the build needs x the time of one hashlib.sha256 of a
    message of the same length (leaf and node sizes measured separately), on one core and
    divided by two for both cores.
Prints leaves/s for each and the ratios. Medians of --repeat builds.

Usage: python bench/bench_por.py --accounts 1000000 [--repeat 1] [--peer-max 200000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time
from pathlib import Path

from caspr.custody import por
from workloads import jp_large


def hash_time(length: int, count: int = 200_000) -> float:
    message = os.urandom(length)
    start = time.perf_counter()
    for _ in range(count):
        hashlib.sha256(message).digest()
    return (time.perf_counter() - start) / count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--peer-max", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    snapshot, _ = jp_large(args.accounts, args.out)
    assets = len(snapshot.assets)
    times = []
    result = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = por.build(snapshot, args.out / "por", seed=1, force=True)
        times.append(time.perf_counter() - start)
    build_s = statistics.median(times)
    n = result.customers
    leaf_len = len(por.LEAF_TAG) + 32 + 32 + 32 + 16 * assets
    node_len = len(por.NODE_TAG) + 32 + 1 + 2 * (32 + 16 * assets)
    leaf_hashes = 2 * n  # account-id hash + leaf hash
    node_hashes = result.hashes - leaf_hashes
    bound = leaf_hashes * hash_time(leaf_len) + node_hashes * hash_time(node_len)

    from pymerkle import InmemoryTree

    peer_n = min(n, args.peer_max)
    messages = [os.urandom(leaf_len) for _ in range(peer_n)]
    start = time.perf_counter()
    tree = InmemoryTree(algorithm="sha256")
    for message in messages:
        tree.append_entry(message)
    tree.get_state()
    peer_s = time.perf_counter() - start

    ours = n / build_s
    peer = peer_n / peer_s
    print(
        f"workload: {n:,} customers x {assets} assets (jp-large, parquet), tree height {result.root['height']}, "
        f"{result.hashes:,} hashes (leaf {leaf_len} B, node {node_len} B)"
    )
    print(f"caspr por build (tree + proof store): {build_s:.1f} s = {ours:,.0f} leaves/s")
    print(
        f"pymerkle {peer_n:,} leaves (plain tree, no sums): {peer_s:.1f} s = {peer:,.0f} leaves/s "
        f"-> caspr/pymerkle = {ours / peer:.1f}x"
    )
    print(
        f"SHA-256 bound, one core: {bound:.1f} s ({n / bound:,.0f} leaves/s); both cores: {bound / 2:.1f} s "
        f"-> caspr / bound(2 cores) = {build_s / (bound / 2):.2f}x"
    )


if __name__ == "__main__":
    main()
