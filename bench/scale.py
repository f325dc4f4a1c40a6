#!/usr/bin/env python
"""The report at ImageNet size: wall time, CPU time and peak resident memory of each stage of `learnability_run
--report_only` (load the records, every score, Table 1 with intervals, the figures, learnability.csv) on synthetic
records of N samples x T epochs x models x seeds, written in the package's own format (`.npz`, memory-mapped on
loading past `MMAP_ABOVE` bytes, as the recorder's files are), and, as the floor, one plain numpy pass over the same
files (every array read once into a numpy buffer, nothing computed): the report's time is printed as a multiple of it.

    python bench/scale.py --n 1281167 --epochs 90 --models 3 --seeds 5 --out /tmp/scale_1m   # ImageNet's training set
    python bench/scale.py --n 128117 --epochs 90 --models 3 --seeds 5 --out /tmp/scale_128k
    python bench/scale.py --quick --out /tmp/scale_quick                                       # 3,000 x 6 epochs: seconds

The records are synthetic but shaped like real ones: each sample has a difficulty shared by every model, each model
and seed adds its own, and the probability of the true label rises over the epochs (a logistic curve) with per-epoch
noise; hits are p > 0.5, margins the matching logit gap. Peak memory is the process's high-water mark (VmHWM), reset
before each stage (`/proc/self/clear_refs`), so it includes memory-mapped pages the stage holds. The records' pages
are dropped from the page cache before the floor and before the report (`--warm`: kept), so both read from the disk.
Writes
`OUT/scale.md` and `OUT/scale.json` (one row per stage), the report itself under `OUT/report`, and deletes the
synthetic records unless `--keep`.
"""
from __future__ import annotations
import argparse, contextlib, json, os, platform, resource, shutil, sys, time, warnings, zipfile
from pathlib import Path
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated")
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from noise import apply_quick, given_options   # noqa: E402 (the benchmarks' --quick)

NAMES = ('vgg16', 'resnet20', 'mobilenet', 'mlp', 'lenet', 'vit')
QUICK = dict(n=3000, epochs=6, models=2, seeds=3, n_boot=100) # what --quick fixes, unless given on the command line

def _status(key:str) -> int:
    "A VmXXX line of /proc/self/status, in bytes"
    with open('/proc/self/status') as f: return int(next(l for l in f if l.startswith(key + ':')).split()[1]) * 1024

def _reset_peak():
    try: Path('/proc/self/clear_refs').write_text('5')   # resets VmHWM to the current resident size
    except OSError: pass

def _write_npz(path:Path, arrays:dict):
    "An uncompressed `.npz` as `np.savez` writes it; values may be callables yielding rows, so (T, N) never sits in RAM"
    tmp = path.with_suffix('.tmp')
    with zipfile.ZipFile(tmp, 'w', zipfile.ZIP_STORED, allowZip64=True) as z:
        for k, (shape, dtype, rows) in arrays.items():
            with z.open(f'{k}.npy', 'w', force_zip64=True) as f:
                np.lib.format.write_array_header_1_0(f, dict(descr=np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                                             fortran_order=False, shape=shape))
                for row in rows(): f.write(np.ascontiguousarray(row, dtype).tobytes())
    os.replace(tmp, path)

def write_synthetic(folder:Path, n:int, epochs:int, models:list, seeds:list, seed:int=0, skip_existing:bool=False) -> list:
    "One records file per model and seed in `folder` (the logits of a run in RAM while it is written); returns the paths"
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    shared = rng.normal(0, 1.5, n).astype(np.float32)   # the sample's own difficulty, the same for every model
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    paths = []
    for mi, m in enumerate(models):
        own = rng.normal(0, 0.6, n).astype(np.float32)   # what this architecture finds hard
        for s in seeds:
            base = shared + own + np.random.default_rng([seed, mi, s]).normal(0, 0.5, n).astype(np.float32)
            p = folder/f'{m}_seed{s}.npz'
            if skip_existing and p.exists(): paths.append(p); continue
            r = np.random.default_rng((seed, mi, s, 1))   # the logits drawn once: probs, hits, margins agree
            z = np.empty((epochs, n), np.float32)
            for t in range(epochs): z[t] = base + np.float32(4 * (t + 1) / epochs - 1) + r.normal(0, 0.8, n).astype(np.float32)
            each = lambda f, z=z: (lambda: (f(row) for row in z))
            meta = np.array(json.dumps(dict(mode='eval', n_epochs=epochs, n_samples=n, fingerprint=f'synthetic-{n}-{seed}',
                                            dataset='synthetic', model=m, seed=s, train_seconds=None, valid_accuracy=None), sort_keys=True))
            rows = dict(probs=((epochs, n), np.float32, each(sigmoid)), correct=((epochs, n), np.int8, each(lambda z: sigmoid(z) > 0.5)),
                        labels=((n,), np.int64, lambda: iter([labels])), meta=((), meta.dtype, lambda meta=meta: iter([meta])),
                        margins=((epochs, n), np.float32, each(lambda z: z)))
            _write_npz(p, rows); paths.append(p); del z
    return paths

def fake_dls(labels:np.ndarray, side:int=8):
    "Loaders over N tiny grey images (one byte per pixel) with these labels: what Figure 1c needs from the data"
    import torch
    from learnability_nb.data import ImageTensorDataset, dls_from_datasets
    n = len(labels)
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (n, 1, side, side), dtype=torch.uint8, generator=g)
    tfm = lambda x: x.float() / 255
    ds = ImageTensorDataset(imgs, torch.as_tensor(np.array(labels)), tfm)   # a copy: the records may be mapped read-only
    valid = ImageTensorDataset(imgs[:64], torch.as_tensor(np.array(labels[:64])), tfm)
    return dls_from_datasets(ds, valid, bs=256, device='cpu', name='synthetic', vocab=[str(i) for i in range(10)],
                             stats=(torch.zeros(1), torch.ones(1)), fingerprint='synthetic')

def evict(paths:list):
    "Drop the files' pages from the page cache (written back first): the next read comes from the disk"
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try: os.fdatasync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally: os.close(fd)

def read_floor(paths:list) -> tuple:
    "Seconds and bytes of one plain pass over the files: every array read once into a numpy buffer"
    buf, n, t = np.empty(64 << 20, np.uint8), 0, time.perf_counter()
    for p in paths:
        with open(p, 'rb', buffering=0) as f:
            while (k := f.readinto(buf)): n += k
    return time.perf_counter() - t, n

class Stages:
    "Times each stage: wall and CPU seconds, peak resident memory (reset per stage), resident memory after"
    def __init__(self): self.rows = []
    @contextlib.contextmanager
    def __call__(self, name:str):
        _reset_peak()
        w, c = time.perf_counter(), time.process_time()
        yield
        self.rows.append(dict(stage=name, wall_s=round(time.perf_counter() - w, 1), cpu_s=round(time.process_time() - c, 1),
                              peak_gib=round(_status('VmHWM') / 2**30, 2), rss_after_gib=round(_status('VmRSS') / 2**30, 2)))
        print(f"  {name:28s} {self.rows[-1]['wall_s']:7.1f}s wall {self.rows[-1]['cpu_s']:7.1f}s CPU "
              f"peak {self.rows[-1]['peak_gib']:.2f} GiB", flush=True)

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='output folder')
    p.add_argument('--n', type=int, default=128_117, help='samples')
    p.add_argument('--epochs', type=int, default=90)
    p.add_argument('--models', type=int, default=3, help=f'architectures (at most {len(NAMES)})')
    p.add_argument('--seeds', type=int, default=5, help='seeds per architecture')
    p.add_argument('--n-boot', type=int, default=1000, help="Table 1's bootstrap resamples")
    p.add_argument('--keep', action='store_true', help='keep the synthetic records (OUT/records)')
    p.add_argument('--warm', action='store_true', help='keep the records in the page cache (default: read from disk)')
    p.add_argument('--quick', action='store_true',
                   help='3,000 samples, 6 epochs, 2 models x 3 seeds, 100 resamples (options given win)')
    a = p.parse_args(argv)
    if a.quick: apply_quick(a, given_options(p, argv), QUICK, 'bench/scale.py')
    if not 1 <= a.models <= len(NAMES): sys.exit(f"--models must be 1..{len(NAMES)}, got {a.models}")
    if a.n < 20 or a.epochs < 2 or a.seeds < 1: sys.exit("--n must be >= 20, --epochs >= 2, --seeds >= 1")
    need = a.n * a.epochs * 9 * a.models * a.seeds
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(out).free
    if need > 0.9 * free: sys.exit(f"the records need {need / 2**30:.1f} GiB but {out} has {free / 2**30:.1f} GiB free")
    from learnability_nb.records import load_records
    from learnability_nb.report import write_report
    models, seeds = list(NAMES[:a.models]), list(range(a.seeds))
    rec_dir = out/'records'; rec_dir.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    paths = [rec_dir/f'{m}_seed{s}.npz' for m in models for s in seeds]
    if not all(q.exists() for q in paths):
        print(f"writing {len(paths)} synthetic runs of {a.n:,} samples x {a.epochs} epochs ({need / 2**30:.1f} GiB)...", flush=True)
        write_synthetic(rec_dir, a.n, a.epochs, models, seeds)
    print(f"records ready in {time.perf_counter() - t0:.0f}s", flush=True)
    if not a.warm: evict(paths)
    floor_s, floor_bytes = read_floor(paths)
    print(f"floor: one numpy pass over the records, {floor_bytes / 2**30:.1f} GiB in {floor_s:.1f}s "
          f"({floor_bytes / 2**20 / floor_s:.0f} MiB/s{', warm' if a.warm else ', from disk'}); the report:", flush=True)
    if not a.warm: evict(paths)
    cfg = dict(dataset='synthetic', models=models, seeds=seeds, epochs=a.epochs, width=1.0, mode='eval')
    st = Stages()
    with st('load records'):
        runs = {(m, s): load_records(rec_dir/f'{m}_seed{s}.npz') for m in models for s in seeds}
    dls = fake_dls(next(iter(runs.values())).labels)
    rep = out/'report'; rep.mkdir(exist_ok=True)
    start = time.perf_counter()
    write_report(cfg, runs, rep, n_boot=a.n_boot, dls=dls, stage=st)
    total = dict(stage='total', wall_s=round(time.perf_counter() - start + st.rows[0]['wall_s'], 1),
                 cpu_s=round(sum(r['cpu_s'] for r in st.rows), 1), peak_gib=max(r['peak_gib'] for r in st.rows),
                 rss_after_gib=st.rows[-1]['rss_after_gib'])
    rows = st.rows + [total]
    ratio = total['wall_s'] / max(floor_s, 1e-9)
    mapped = all(isinstance(r.probs, np.memmap) or isinstance(r.probs.base, np.memmap) for r in runs.values())
    meta = dict(n=a.n, epochs=a.epochs, models=models, seeds=seeds, n_boot=a.n_boot, records_gib=round(need / 2**30, 2),
                floor_s=round(floor_s, 1), report_over_floor=round(ratio, 2), warm=a.warm,
                load=round(os.getloadavg()[0], 1),
                memory_mapped=bool(mapped), machine=f"{platform.machine()}, {os.cpu_count()} CPU(s)", python=platform.python_version(),
                command=' '.join(['python', 'bench/scale.py', *(argv if argv is not None else sys.argv[1:])]))
    (out/'scale.json').write_text(json.dumps(dict(meta, stages=rows), indent=2))
    md = (f"{a.n:,} samples x {a.epochs} epochs x {a.models} models x {a.seeds} seeds ({need / 2**30:.1f} GiB of records), "
          f"{a.n_boot} bootstrap resamples, {meta['machine']}, records read {'warm' if a.warm else 'from disk'}:\n\n"
          f"{pd.DataFrame(rows).to_markdown(index=False)}\n\nThe floor, one plain numpy pass over the record files "
          f"(every array read once): {floor_s:.1f}s ({floor_bytes / 2**20 / floor_s:.0f} MiB/s); the report took "
          f"{ratio:.1f} x the floor. Load average at the end: {meta['load']:.1f}.\n")
    (out/'scale.md').write_text(md)
    if not a.keep: shutil.rmtree(rec_dir)
    print(f"\n{md}\nwrote {out/'scale.md'}")

if __name__ == '__main__': main()
