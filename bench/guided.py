#!/usr/bin/env python
"""Learnability-guided training, measured: does ordering, weighting, dropping or pruning the training set by a per-sample
score from an earlier run beat random order with the same budget, on clean labels and with 20% label noise? On
scikit-learn's digits (the default) or Fashion-MNIST (`--dataset fashion_mnist`, `--n-train`: a stratified subset).

Per setting (`clean`; `sym20`: 20% symmetric noise in the TRAINING labels, noise seed fixed, validation labels clean):
- one recording run (`LearnabilityRecorder('eval')`, seed `--score-seed`, not one of the evaluation seeds) on exactly the
  training labels the evaluation runs get: learnability, AUM, forgetting events (`learnability_nb.scores`);
- per evaluation seed, the same architecture and budget (epochs × N samples per epoch, Adam, one cycle) trained from
  scratch under each condition (`learnability_nb.guided.GuidedTraining`): random order (the baseline: fastai's own shuffle),
  easy-to-hard curricula (linear and root pacing by learnability), hard emphasis (hardest drawn 3× as often as the easiest),
  dropping the hardest 10% / 20% by learnability, and data pruning: keep the hardest 30/50/70% by learnability or by
  forgetting events, or a random 30/50/70% (a new subset per seed), always N draws per epoch from the kept samples.

Each condition is scored by its clean validation accuracy; the summary gives the mean over seeds with a 95% t-interval,
and the paired difference (same seed = same initialisation) to random order, and for pruning to the random subset of the
same size.

    python bench/guided.py --quick --out /tmp/guided_quick   # sym20, 2 seeds, 6 conditions (a few minutes on 2 cores)
    python bench/guided.py --quick --dataset fashion_mnist --out /tmp/guided_quick_fashion   # 2,000 images, LeNet-5
    python bench/guided.py --out /tmp/guided                 # clean + sym20, 15 conditions x seeds 0-4 (resumable)
    python bench/guided.py --out /tmp/guided --report-only   # rebuild guided.csv and summary.md from the runs there
    python bench/guided.py --out /tmp/guided_fashion --dataset fashion_mnist --n-train 10000   # 32x32, 1 channel

Writes `OUT/guided.csv` (one row per condition x setting x seed), `OUT/scores_<setting>.csv` (the recording's scores and
the noise mask, one row per training sample), `OUT/summary.md` and `OUT/config.json`; `OUT/runs/` is what resuming reads.

`--quick` is a first run, minutes on 2 CPU cores on either dataset: sym20, seeds 0 and 1, six conditions, and on
Fashion-MNIST a stratified 2,000 training images validated on a stratified 2,000 test images with LeNet-5 at width
0.25, lr 0.01 (the Fashion-MNIST benchmark's model, `bench/guided_fashion`), 5 epochs (13 trainings). Options given on
the command line win over what --quick fixes; the run prints what it chose.
"""
from __future__ import annotations
import argparse, datetime, json, os, platform, sys, time, warnings
from pathlib import Path
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # spinning OpenMP threads hurt on a shared machine
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated")
import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from noise import add_data_args, apply_quick, claim_out, data_cfg, given_options, load_data, train, _valid_acc   # noqa: E402
from learnability_nb.noise import inject_noise   # noqa: E402

SETTINGS = {'clean': 0.0, 'sym20': 0.2} # name -> symmetric noise rate in the training labels
PRUNE_SCORES = ('learnability', 'forgetting_events')
PRUNE_FRACS = (0.3, 0.5, 0.7)

def conditions() -> dict:
    "name -> dict(family, score, param, kwargs of `GuidedTraining` or None for random order); `keep` is filled per run"
    c = {'random': dict(family='baseline', score='', param=np.nan, cb=None),
         'curriculum_linear': dict(family='curriculum', score='learnability', param=0.2, cb=dict(mode='curriculum', pacing=('linear', 0.2))),
         'curriculum_root': dict(family='curriculum', score='learnability', param=0.2, cb=dict(mode='curriculum', pacing=('root', 0.2))),
         'hard_x3': dict(family='hard emphasis', score='learnability', param=3., cb=dict(mode='hard', ratio=3.)),
         'drop10': dict(family='drop hardest', score='learnability', param=0.1, cb=dict(mode='random', drop=0.1)),
         'drop20': dict(family='drop hardest', score='learnability', param=0.2, cb=dict(mode='random', drop=0.2))}
    for f in PRUNE_FRACS:
        for s in PRUNE_SCORES + ('random',):
            c[f'prune{int(f * 100)}_{s}'] = dict(family='prune', score=s, param=f, cb=dict(mode='random', prune=(s, f)))
    return c

_QUICK_RUNS = dict(settings='sym20', seeds='0,1', conditions='random,curriculum_root,hard_x3,drop10,prune50_learnability,prune50_random')
QUICK = {'digits': _QUICK_RUNS,
         'fashion_mnist': dict(_QUICK_RUNS, n_train=2000, n_valid=2000, model='lenet', width=0.25, lr=0.01, epochs=5)
         } # what --quick fixes per dataset, unless given on the command line
DEFAULTS = dict(model='tiny_cnn', width=2.0, epochs=10, bs=64, lr=3e-2, noise_seed=0, score_seed=100)

def record_scores(cfg, x, y_train, xv, yv, seed:int) -> tuple[pd.DataFrame, float, float]:
    "One recording run on the training labels: the per-sample scores (`scores_table`), clean valid accuracy, seconds"
    from learnability_nb.scores import scores_table
    rec, learn, secs = train(cfg, x, y_train, xv, yv, 10, seed, mode='eval')
    return scores_table(rec.probs, rec.correct, rec.counts, rec.margins), _valid_acc(learn), secs

def make_callback(spec:dict, table:pd.DataFrame, seed:int):
    "The `GuidedTraining` callback of a condition (None: random order)"
    from learnability_nb.guided import GuidedTraining, hardness, prune, linear_pacing, root_pacing
    if spec['cb'] is None: return None
    kw = dict(spec['cb'])
    h = hardness(table, 'learnability')
    if 'pacing' in kw:
        kind, start = kw['pacing']
        kw['pacing'] = linear_pacing(start) if kind == 'linear' else root_pacing(start)
    if 'prune' in kw:
        score, frac = kw.pop('prune')
        kw['keep'] = (prune(h, frac, 'random', seed=1000 + seed) if score == 'random' else prune(hardness(table, score), frac, 'hardest'))
    return GuidedTraining(h, **kw)

def run_one(cfg, setting, name, spec, seed, data, y_train, mask, table):
    "Train one condition with one seed; its row"
    x, _, xv, yv, _ = data
    cb = make_callback(spec, table, seed)
    _, learn, secs = train(cfg, x, y_train, xv, yv, 10, seed, mode='off', cbs=[] if cb is None else [cb])
    pool = np.arange(len(y_train)) if cb is None else cb.pool
    return dict(dataset=cfg['dataset'], setting=setting, condition=name, family=spec['family'], score=spec['score'],
                param=spec['param'], seed=seed,
                valid_acc=_valid_acc(learn), train_seconds=round(secs, 1), epochs=cfg['epochs'], n_train=len(y_train),
                pool=len(pool), noisy_in_pool=float(mask[pool].mean()), noise_rate=SETTINGS[setting])

def t_interval(v) -> tuple[float, float, float]:
    "Mean and 95% t-interval over seeds (NaN interval for fewer than 2)"
    v = np.asarray(v, dtype=np.float64)
    m = v.mean()
    if len(v) < 2: return m, np.nan, np.nan
    if np.ptp(v) == 0: return m, m, m
    lo, hi = stats.t.interval(0.95, len(v) - 1, loc=m, scale=stats.sem(v))
    return m, lo, hi

def _fmt(m, lo, hi, pct=True, sign=False) -> str:
    k = 100 if pct else 1
    s = f"{m * k:+.2f}" if sign else f"{m * k:.2f}"
    return s if np.isnan(lo) else f"{s} [{lo * k:+.2f}, {hi * k:+.2f}]" if sign else f"{s} [{lo * k:.2f}, {hi * k:.2f}]"

def summary_table(table:pd.DataFrame) -> pd.DataFrame:
    "Per setting and condition: accuracy mean [95% CI], paired difference to random order, and for pruning to the random subset of the same size"
    rows, order = [], list(conditions())
    for (setting, name), g in table.groupby(['setting', 'condition'], sort=False):
        g = g.set_index('seed')
        base = table[(table.setting == setting) & (table.condition == 'random')].set_index('seed')['valid_acc']
        d = (g['valid_acc'] - base).dropna()
        diff = t_interval(d) if name != 'random' and len(d) else (np.nan,) * 3
        r = dict(setting=setting, condition=name, seeds=len(g), acc=_fmt(*t_interval(g['valid_acc'])),
                 vs_random='' if np.isnan(diff[0]) else _fmt(*diff, sign=True), acc_mean=g['valid_acc'].mean(),
                 diff_mean=diff[0], diff_lo=diff[1], diff_hi=diff[2], noisy_in_pool=g['noisy_in_pool'].mean(), vs_random_subset='')
        if g['family'].iloc[0] == 'prune' and g['score'].iloc[0] != 'random':
            ref = table[(table.setting == setting) & (table.condition == f"prune{int(round(g['param'].iloc[0] * 100))}_random")].set_index('seed')['valid_acc']
            dd = (g['valid_acc'] - ref).dropna()
            if len(dd): r['vs_random_subset'] = _fmt(*t_interval(dd), sign=True)
        rows.append(r)
    df = pd.DataFrame(rows)
    df['_s'], df['_c'] = df.setting.map({s: i for i, s in enumerate(SETTINGS)}), df.condition.map({c: i for i, c in enumerate(order)})
    return df.sort_values(['_s', '_c']).drop(columns=['_s', '_c']).reset_index(drop=True)

def summarize(table:pd.DataFrame) -> str:
    "Markdown: one table per setting"
    s = summary_table(table)
    ds = ', '.join(map(str, table['dataset'].unique())) if 'dataset' in table else 'digits'
    parts = [f"Dataset {ds}, {int(table['n_train'].iloc[0])} training images. "
             "Clean validation accuracy (%) over seeds: mean [95% t-interval]; paired differences (percentage points) to "
             "random order and, for pruning by a score, to a random subset of the same size (same seed = same initialisation).\n"]
    for setting, g in s.groupby('setting', sort=False):
        t = g[['condition', 'seeds', 'acc', 'vs_random', 'vs_random_subset', 'noisy_in_pool']].rename(columns={
            'acc': 'valid acc % [95% CI]', 'vs_random': 'minus random order, pp [95% CI]',
            'vs_random_subset': 'minus random subset of same size, pp [95% CI]', 'noisy_in_pool': 'mislabelled in kept set'})
        t['mislabelled in kept set'] = t['mislabelled in kept set'].map(lambda v: f"{v:.1%}")
        parts.append(f"### {setting}\n\n{t.to_markdown(index=False)}\n")
    return "\n".join(parts)

def _ints(s): return [int(v) for v in str(s).split(',') if v != '']

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='output folder (runs already there are kept and not redone)')
    p.add_argument('--quick', action='store_true', help='a first run in minutes: ' + '; '.join(
        f"{d}: {', '.join(f'{k} {v}' for k, v in q.items())}" for d, q in QUICK.items()) + ' (options given win)')
    p.add_argument('--report-only', action='store_true', help='only rebuild guided.csv and summary.md from the runs in --out')
    p.add_argument('--settings', default=','.join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    p.add_argument('--seeds', default='0,1,2,3,4', help='comma-separated evaluation seeds (not --score-seed)')
    p.add_argument('--conditions', default='all', help=f"comma-separated, of {', '.join(conditions())}")
    add_data_args(p)
    for k, v in DEFAULTS.items(): p.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    a = p.parse_args(argv)
    if a.quick: apply_quick(a, given_options(p, argv), QUICK[a.dataset], 'bench/guided.py')
    cfg = dict(data_cfg(a), **{k: getattr(a, k) for k in DEFAULTS})
    conds = conditions()
    settings, seeds = a.settings.split(','), _ints(a.seeds)
    names = list(conds) if a.conditions == 'all' else a.conditions.split(',')
    bad = [s for s in settings if s not in SETTINGS] + [c for c in names if c not in conds]
    if bad: sys.exit(f"unknown setting(s)/condition(s) {bad}")
    if 'random' not in names: names = ['random'] + names   # every comparison is to it
    from learnability_nb.models import MODELS
    if a.model not in (*MODELS, 'tiny_cnn'): sys.exit(f"unknown model {a.model!r}; choose {', '.join(MODELS)} or tiny_cnn")
    if a.score_seed in seeds: sys.exit(f"--score-seed {a.score_seed} is one of the evaluation seeds: scores must come from another run")
    data = None if a.report_only else load_data(cfg, a.data_path, 'bench/guided.py')   # before anything is written
    out = Path(a.out); (out/'runs').mkdir(parents=True, exist_ok=True)
    import torch, fastai
    meta = dict(cfg, data_path=a.data_path, torch=torch.__version__, fastai=fastai.__version__,
                python=platform.python_version(),
                machine=f"{platform.machine()}, {os.cpu_count()} CPU(s)", torch_threads=torch.get_num_threads(),
                started=datetime.datetime.now().isoformat(timespec='seconds'), command=' '.join(['python', 'bench/guided.py', *(argv or sys.argv[1:])]))
    claim_out(out, cfg, meta)
    start = time.perf_counter()
    if not a.report_only:
        x, y, xv, yv, _ = data
        prepared = {}
        for setting in settings:
            y_train, mask = inject_noise(y, SETTINGS[setting], 'symmetric', seed=cfg['noise_seed'], n_classes=10)
            sf = out/f'scores_{setting}.csv'
            if sf.exists(): table = pd.read_csv(sf).drop(columns=['idx', 'label_true', 'label_train', 'noisy'])
            else:
                table, acc, secs = record_scores(cfg, x, y_train, xv, yv, cfg['score_seed'])
                print(f"[{setting}] recording (seed {cfg['score_seed']}): {secs:.0f}s, clean valid accuracy {acc:.3f}", flush=True)
                pd.concat([pd.DataFrame({'idx': np.arange(len(y)), 'label_true': y, 'label_train': y_train, 'noisy': mask.astype(int)}),
                           table.reset_index(drop=True)], axis=1).to_csv(sf, index=False)
            prepared[setting] = (y_train, mask, table)
        for seed in seeds:   # seed-major: a run cut short has every condition at the same number of seeds, give or take one
            for setting in settings:
                y_train, mask, table = prepared[setting]
                for name in names:
                    f = out/'runs'/f'{setting}_{name}_seed{seed}.json'
                    if f.exists(): continue
                    row = run_one(cfg, setting, name, conds[name], seed, data, y_train, mask, table)
                    f.write_text(json.dumps(row))
                    print(f"[{setting} seed {seed}] {name:24s} acc {row['valid_acc']:.4f}  ({row['train_seconds']:.0f}s, "
                          f"{time.perf_counter() - start:.0f}s so far)", flush=True)
    rows = [json.loads(f.read_text()) for f in sorted((out/'runs').glob('*.json'))]
    if not rows: sys.exit(f"no runs in {out/'runs'}")
    table = pd.DataFrame(rows)
    order = {c: i for i, c in enumerate(conds)}
    table = table.sort_values(['setting', 'condition', 'seed'], key=lambda s: s.map({k: i for i, k in enumerate(SETTINGS)}) if s.name == 'setting'
                              else s.map(order) if s.name == 'condition' else s, kind='stable').reset_index(drop=True)
    table = table.drop(columns='dataset', errors='ignore'); table.insert(0, 'dataset', cfg['dataset'])   # one per --out
    table.to_csv(out/'guided.csv', index=False)
    md = summarize(table)
    (out/'summary.md').write_text(md)
    print(f"\n{md}\nwrote {out/'guided.csv'} ({len(table)} rows) and {out/'summary.md'} in {time.perf_counter() - start:.0f}s")

if __name__ == '__main__': main()
