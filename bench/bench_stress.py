"""1M simulated exchange-years: the vectorised NumPy simulation beside a plain Python loop.

Workload: annual outflow losses for one exchange (¥400bn of customer crypto) under the
fitted model (Poisson frequency, beta severity), N exchange-years. The baseline, in the
same run, is a plain Python loop over years drawing the same distributions with the
`random` module (Knuth's Poisson sampler, `random.betavariate`). Prints both times, the
ratio, and both means (they estimate the same quantity).

Usage: python bench/bench_stress.py --years 1000000
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time

from caspr.calibration.model import fit
from caspr.calibration.stress import simulate


def loop(model, custody, years, seed):
    rng = random.Random(seed)
    threshold = math.exp(-model.frequency)
    out = []
    for _ in range(years):
        count, product = 0, rng.random()
        while product > threshold:
            count += 1
            product *= rng.random()
        out.append(sum(rng.betavariate(model.beta_a, model.beta_b) * custody for _ in range(count)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--years", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    model = fit()
    custody = 400e9
    fast = []
    for i in range(args.repeat):
        start = time.perf_counter()
        losses = simulate(model, custody, args.years, seed=i)
        fast.append(time.perf_counter() - start)
    start = time.perf_counter()
    slow_losses = loop(model, custody, args.years, seed=1)
    slow = time.perf_counter() - start
    ours = statistics.median(fast)
    print(
        f"workload: {args.years:,} exchange-years, λ = {model.frequency:.4f}, Beta({model.beta_a:.3f}, {model.beta_b:.3f})"
    )
    print(f"numpy (median of {args.repeat}): {ours:.3f} s; mean annual loss ¥{losses.mean():,.0f}")
    print(f"plain Python loop: {slow:.2f} s; mean annual loss ¥{statistics.fmean(slow_losses):,.0f}")
    print(f"loop / numpy = {slow / ours:.0f}x")


if __name__ == "__main__":
    main()
