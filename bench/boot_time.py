#!/usr/bin/env python
"""Time Table 1's intervals (`learnability_nb.core.seed_table1`: a bootstrap over samples with every seed in, and a
delete-one-seed jackknife within each model) at the size issue 10 names: 50,000 samples x 3 models x 5 seeds x 1,000
resamples, on synthetic data.

    python bench/boot_time.py                      # 50,000 x 3 x 5, 1,000 resamples, 3 repeats
    python bench/boot_time.py --n 1437 --seeds 3   # the default run's size
    python bench/boot_time.py --repeats 1 --n_boot 200

The data: each model's per-seed learnability is a shared "true" learnability (Beta(5, 1.5), like digits' crowd
near 1) plus a model-specific part plus independent seed noise, clipped to [0, 1]. The numbers do not matter for the
time; they are checked only to be finite. Prints, per repeat, the wall time (`time.perf_counter`) and the process
CPU time (`time.process_time`, all threads of this process), and the machine load (`os.getloadavg`) before and
after, so a slow result on a shared machine can be told from a slow bootstrap; and peak resident memory.
"""
from __future__ import annotations
import argparse, os, platform, resource, sys, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # spinning OpenMP threads hurt on a shared machine
import numpy as np


def synthetic(n:int, n_models:int, n_seeds:int, seed:int=0) -> dict:
    "model name -> (n_seeds, n) per-seed learnability with a shared component, a model component and seed noise"
    rng = np.random.default_rng(seed)
    truth = rng.beta(5, 1.5, n)
    out = {}
    for m in range(n_models):
        model = truth + rng.normal(0, 0.05, n)
        out[f'model{m}'] = np.clip(model + rng.normal(0, 0.08, (n_seeds, n)), 0, 1).astype(np.float32)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--n', type=int, default=50_000, help='samples')
    p.add_argument('--models', type=int, default=3)
    p.add_argument('--seeds', type=int, default=5, help='seeds (runs) per model')
    p.add_argument('--n_boot', type=int, default=1000, help='bootstrap resamples')
    p.add_argument('--repeats', type=int, default=3)
    p.add_argument('--chunk', type=int, default=None, help="seed_table1's resamples per vectorised batch (default: its own)")
    a = p.parse_args(argv)
    import torch   # only to report the thread count numpy's BLAS is not told about; seed_table1 itself is numpy
    from learnability_nb.core import seed_table1, table1_ci
    data = synthetic(a.n, a.models, a.seeds)
    print(f"seed_table1: {a.n:,} samples x {a.models} models x {a.seeds} seeds, {a.n_boot:,} resamples; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"numpy {np.__version__}, python {platform.python_version()}")
    seed_table1({m: x[:, :1000] for m, x in data.items()}, n_boot=20)   # warm-up: imports, first allocations
    walls, cpus = [], []
    for r in range(a.repeats):
        load0 = os.getloadavg()
        w0, c0 = time.perf_counter(), time.process_time()
        pairs, models = seed_table1(data, n_boot=a.n_boot, seed=r, chunk=a.chunk)
        w, c = time.perf_counter() - w0, time.process_time() - c0
        load1 = os.getloadavg()
        assert np.isfinite(pairs[['learnability_ci_low', 'learnability_ci_high', 'rank_ci_low', 'rank_ci_high']].values).all()
        walls.append(w); cpus.append(c)
        print(f"repeat {r}: wall {w:.2f} s, process CPU {c:.2f} s (CPU/wall {c / w:.2f}); "
              f"load average (1 min) {load0[0]:.2f} before, {load1[0]:.2f} after")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux
    print(f"median of {a.repeats}: wall {np.median(walls):.2f} s, process CPU {np.median(cpus):.2f} s; peak RSS {rss:.0f} MiB")
    print(table1_ci(pairs).to_string())


if __name__ == '__main__': main()
