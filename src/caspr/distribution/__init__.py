"""The independent administrator's distribution: claims, pools, rounds, holds, batches.

* :mod:`caspr.distribution.plan` — the plan (Japan's defaults without one);
* :mod:`caspr.distribution.allocation` — pro rata with floor and largest remainder;
* :mod:`caspr.distribution.inkind` — in-kind return of segregated assets per asset pool;
* :mod:`caspr.distribution.rounds` — fiat-valued claims paid over rounds (Mt. Gox, FTX, Celsius);
* :mod:`caspr.distribution.batches` — idempotent payout batches;
* :mod:`caspr.distribution.output` — the files a run writes.
"""
