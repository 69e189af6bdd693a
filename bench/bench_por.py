"""Proof-of-liabilities build at N customers, beside pymerkle and the raw SHA-256 bound.

Workload: `caspr generate --profile jp-large --format parquet` with N accounts (every
customer with a balance becomes a leaf; 16 assets). Timed in phases, medians of --repeat:
  * read: the snapshot's balances into memory (`por.read`: one DuckDB query, encoding);
  * tree: the tree and every customer's proof store written to disk (`por.build_tree`),
    into an empty folder (the previous run's output is deleted before the clock starts);
  * end to end: both, as `caspr por build` runs them once the snapshot is validated
    (validation is common to every command and measured in bench/bench_validate.py).
In the same process:
  * pymerkle 7.0.0 (PyPI; a plain RFC 9162 tree, no sums, proofs made on demand) builds a
    tree with `init_from_entries` over random leaf messages of our leaf length, on
    min(N, --peer-max) leaves, reported as leaves per second;
  * the SHA-256 bound: the hashes the build needs x the time of one hashlib.sha256 of a
    message of the same length (account-id, leaf and node sizes measured separately, best
    of 5), on one core and divided by the cores; and, below it, the compression floor: the
    SHA-256 blocks those messages need x the time per block hashing 16 MiB at once.

Usage: python bench/bench_por.py --accounts 1000000 [--repeat 5] [--peer-max 1000000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import time
from pathlib import Path

import pyarrow.compute as pc

from caspr.custody import por
from workloads import jp_large, peak_gb, reset_peak


def hash_time(length: int, count: int = 50_000, repeat: int = 5) -> float:
    """Seconds per hashlib.sha256(message).digest() of ``length`` bytes: the best of ``repeat`` runs."""
    message = os.urandom(length)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(count):
            hashlib.sha256(message).digest()
        best = min(best, (time.perf_counter() - start) / count)
    return best


def block_time(repeat: int = 5) -> float:
    """Seconds per SHA-256 compression (64-byte block) hashing 16 MiB at once: no per-call cost."""
    data = os.urandom(16 << 20)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        hashlib.sha256(data).digest()
        best = min(best, (time.perf_counter() - start) / (len(data) // 64))
    return best


def blocks(length: int) -> int:
    """Compressions SHA-256 needs for a message of ``length`` bytes (with its padding)."""
    return (length + 9 + 63) // 64


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
    reset_peak()  # from here: the PoR phases only (loading the snapshot is bench_validate's)
    reads, trees = [], []
    result = None
    id_len = 0.0
    for _ in range(args.repeat):
        start = time.perf_counter()
        ledger = por.read(snapshot)
        reads.append(time.perf_counter() - start)
        id_len = pc.sum(pc.binary_length(ledger.ids)).as_py() / len(ledger.ids)  # mean account-id length
        shutil.rmtree(args.out / "por", ignore_errors=True)
        start = time.perf_counter()
        result = por.build_tree(ledger, args.out / "por")  # fresh randomness, as a real audit
        trees.append(time.perf_counter() - start)
        del ledger
    assert result is not None
    read_s, tree_s = statistics.median(reads), statistics.median(trees)
    total_s = statistics.median([r + t for r, t in zip(reads, trees, strict=True)])
    n, assets = result.customers, len(snapshot.assets)
    leaf_len = len(por.LEAF_TAG) + 32 + 32 + 32 + 16 * assets
    node_len = len(por.NODE_TAG) + 32 + 1 + 2 * (32 + 16 * assets)
    node_hashes = result.hashes - 2 * n  # n account-id hashes and n leaf hashes
    cores = len(os.sched_getaffinity(0))
    one_core = n * hash_time(round(id_len)) + n * hash_time(leaf_len) + node_hashes * hash_time(node_len)
    bound = one_core / cores
    compressions = n * blocks(round(id_len)) + n * blocks(leaf_len) + node_hashes * blocks(node_len)
    floor = compressions * block_time() / cores
    peer_n = min(n, args.peer_max)
    peak = peak_gb()  # before pymerkle runs
    peer = peer_rate(peer_n, leaf_len)

    print(
        f"workload: {n:,} customers x {assets} assets (jp-large, parquet), tree height {result.root['height']}, "
        f"{result.hashes:,} hashes (leaf {leaf_len} B, node {node_len} B); kernels: {result.kernels}; "
        f"medians of {args.repeat}; peak RSS of the PoR phases {peak:.1f} GB"
    )
    print(f"pymerkle {peer_n:,} leaves (plain tree, no sums, no proof store): {peer:,.0f} leaves/s")
    print(f"SHA-256 bound (hashlib per hash, best of 5, {cores} cores; ids of {id_len:.1f} B): {bound:.2f} s")
    print(
        f"  (compression floor: {compressions:,} SHA-256 blocks at hashlib's 16 MiB speed, {cores} cores: "
        f"{floor:.2f} s; the bound above adds each call's setup, as every Merkle builder pays it)"
    )
    for name, seconds in (("tree + proof store", tree_s), ("end to end (read + tree)", total_s)):
        rate = n / seconds
        print(
            f"caspr {name}: {seconds:.2f} s = {rate:,.0f} leaves/s -> {rate / peer:.1f}x pymerkle, "
            f"{seconds / bound:.2f}x the bound, {seconds / floor:.2f}x the floor"
        )
    print(
        f"  (read alone: {read_s:.2f} s; runs: read {[round(r, 2) for r in reads]}, tree {[round(t, 2) for t in trees]})"
    )


if __name__ == "__main__":
    main()
