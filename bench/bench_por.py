"""Proof-of-liabilities build at N customers, beside pymerkle and the raw SHA-256 bound.

Workload: `caspr generate --profile jp-large --format parquet` with N accounts (every
customer with a balance becomes a leaf; 16 assets). Timed in phases, medians of --repeat:
  * read: the snapshot's balances into memory (`por.read`: one DuckDB query, encoding);
  * tree: the tree and every customer's proof store written to disk (`por.build_tree`);
  * end to end: both, as `caspr por build` runs them.
In the same process:
  * pymerkle 7.0.0 (PyPI; a plain RFC 9162 tree, no sums, proofs made on demand) builds a
    tree with `init_from_entries` over random leaf messages of our leaf length, on
    min(N, --peer-max) leaves, reported as leaves per second;
  * the SHA-256 bound: the hashes the build needs x the time of one hashlib.sha256 of a
    message of the same length (leaf and node sizes measured separately), on one core and
    divided by two for both cores.

Usage: python bench/bench_por.py --accounts 1000000 [--repeat 5] [--peer-max 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
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


def peer_rate(leaves: int, length: int) -> float:
    """pymerkle's leaves per second over ``leaves`` random messages of ``length`` bytes."""
    from pymerkle import InmemoryTree

    messages = [os.urandom(length) for _ in range(leaves)]
    start = time.perf_counter()
    tree = InmemoryTree.init_from_entries(messages, algorithm="sha256")
    tree.get_root()
    return leaves / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--peer-max", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path("bench/out"))
    args = parser.parse_args()
    snapshot, _ = jp_large(args.accounts, args.out)
    reads, trees = [], []
    result = None
    for _ in range(args.repeat):
        start = time.perf_counter()
        ledger = por.read(snapshot)
        reads.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = por.build_tree(ledger, args.out / "por", seed=1)
        trees.append(time.perf_counter() - start)
        del ledger
    assert result is not None
    read_s, tree_s = statistics.median(reads), statistics.median(trees)
    total_s = statistics.median([r + t for r, t in zip(reads, trees, strict=True)])
    n, assets = result.customers, len(snapshot.assets)
    leaf_len = len(por.LEAF_TAG) + 32 + 32 + 32 + 16 * assets
    node_len = len(por.NODE_TAG) + 32 + 1 + 2 * (32 + 16 * assets)
    leaf_hashes = 2 * n  # account-id hash + leaf hash
    node_hashes = result.hashes - leaf_hashes
    bound = (leaf_hashes * hash_time(leaf_len) + node_hashes * hash_time(node_len)) / 2
    peer_n = min(n, args.peer_max)
    peer = peer_rate(peer_n, leaf_len)
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6

    print(
        f"workload: {n:,} customers x {assets} assets (jp-large, parquet), tree height {result.root['height']}, "
        f"{result.hashes:,} hashes (leaf {leaf_len} B, node {node_len} B); kernels: {result.kernels}; "
        f"medians of {args.repeat}; peak RSS {peak_gb:.1f} GB"
    )
    print(f"pymerkle {peer_n:,} leaves (plain tree, no sums, no proof store): {peer:,.0f} leaves/s")
    print(f"SHA-256 bound (hashlib, both cores): {bound:.2f} s")
    for name, seconds in (("tree + proof store", tree_s), ("end to end (read + tree)", total_s)):
        rate = n / seconds
        print(
            f"caspr {name}: {seconds:.2f} s = {rate:,.0f} leaves/s -> {rate / peer:.1f}x pymerkle, "
            f"{seconds / bound:.2f}x the bound"
        )
    print(
        f"  (read alone: {read_s:.2f} s; runs: read {[round(r, 2) for r in reads]}, tree {[round(t, 2) for t in trees]})"
    )


if __name__ == "__main__":
    main()
