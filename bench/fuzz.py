"""The fuzzing campaign: many generated hostile files per reader (`test_utils.fuzz_readers`), counted by outcome.

    python bench/fuzz.py --n 2000            # 2,000 files per reader
    python bench/fuzz.py --n 200 --readers 'cifar batch,records npz'

Per reader it prints files tried, valid results, documented errors (ValueError / FileNotFoundError naming the file),
anything else (a defect: should be 0), hangs (over --hang seconds: should be 0), the slowest file (wall clock, and
CPU time, which a busy machine does not inflate) and the peak of what Python allocated reading one file
(tracemalloc), and at the end the process's peak resident memory. Files that
end in anything else are kept in --keep for a regression test.
"""
import argparse, os, resource, signal, sys, tempfile, time, warnings
from pathlib import Path
os.environ.setdefault('OMP_NUM_THREADS', '1')
warnings.filterwarnings('ignore')
from hypothesis import given, settings, HealthCheck, Phase
from learnability_nb.test_utils import fuzz_readers, read_outcome

class Hang(Exception): "A file took longer than --hang seconds"

def campaign(name, strategy, write, read, n, hang, keep):
    "Draw `n` files from `strategy`, read each; the counts, the slowest file and the peak allocation"
    stats = dict(tried=0, valid=0, documented=0, other=0, hangs=0, slowest=0.0, slowest_cpu=0.0, peak=0, errors={})
    def on_alarm(signum, frame): raise Hang()
    signal.signal(signal.SIGALRM, on_alarm)
    @settings(max_examples=n, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def one(f):
        path = write(f)
        signal.setitimer(signal.ITIMER_REAL, hang)
        try: out = read_outcome(read, path)
        except Hang: out = dict(kind='hang', seconds=hang, cpu=0.0, peak=0, error=None)
        finally: signal.setitimer(signal.ITIMER_REAL, 0)
        if isinstance(out['error'], Hang): out['kind'] = 'hang'
        stats['tried'] += 1
        stats['hangs' if out['kind'] == 'hang' else out['kind']] += 1
        stats['slowest'], stats['peak'] = max(stats['slowest'], out['seconds']), max(stats['peak'], out['peak'])
        stats['slowest_cpu'] = max(stats['slowest_cpu'], out['cpu'])
        if out['kind'] in ('other', 'hang'):
            what = f"{type(out['error']).__name__}: {str(out['error'])[:160]}"
            stats['errors'][what] = stats['errors'].get(what, 0) + 1
            if keep is not None:
                dest = Path(keep)/name.replace(' ', '_').replace(',', ''); dest.mkdir(parents=True, exist_ok=True)
                (dest/f"{stats['tried']}-{path.name}").write_bytes(path.read_bytes())
    one()
    return stats

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--n', type=int, default=500, help='files per reader')
    p.add_argument('--readers', default=None, help='comma-separated reader names (default: all)')
    p.add_argument('--hang', type=float, default=10.0, help='seconds after which a file counts as a hang')
    p.add_argument('--keep', default=None, help='folder to keep the files that ended in anything else')
    a = p.parse_args(argv)
    if a.n < 1: raise SystemExit(f"--n must be at least 1, got {a.n}")
    readers = fuzz_readers(Path(tempfile.mkdtemp(prefix='fuzz-')))
    names = list(readers) if a.readers is None else [r.strip() for r in a.readers.split(',')]
    unknown = [r for r in names if r not in readers]
    if unknown: raise SystemExit(f"unknown reader(s) {unknown}; readers: {', '.join(readers)}")
    start, rows = time.perf_counter(), []
    print(f"| reader | files tried | valid results | documented errors | anything else | hangs | slowest file (wall) "
          "| slowest file (CPU) | peak allocation per file |\n|---|---|---|---|---|---|---|---|---|", flush=True)
    for name in names:
        s = campaign(name, *readers[name], a.n, a.hang, a.keep)
        rows.append(s)
        print(f"| {name} | {s['tried']:,} | {s['valid']:,} | {s['documented']:,} | {s['other']} | {s['hangs']} "
              f"| {s['slowest'] * 1e3:.1f} ms | {s['slowest_cpu'] * 1e3:.1f} ms | {s['peak'] / 2**20:.2f} MiB |",
              flush=True)
        for what, k in s['errors'].items(): print(f"    {k} x {what}", file=sys.stderr, flush=True)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"\n{sum(r['tried'] for r in rows):,} files in {time.perf_counter() - start:.0f} s; "
          f"peak resident memory of the process {rss:.0f} MiB; anything else: {sum(r['other'] for r in rows)}, "
          f"hangs: {sum(r['hangs'] for r in rows)}")
    return rows

if __name__ == '__main__': main()
