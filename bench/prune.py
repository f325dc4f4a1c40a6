#!/usr/bin/env python
"""Data pruning by per-sample scores, measured against random: keep a fraction of the training set chosen by a score
(learnability, early learnability, EL2N, forgetting events, AUM) from earlier recorded runs, retrain from scratch on the
kept samples, and compare test accuracy with a random subset of the same size and seed.

Scores come from the records of a `learnability_run` folder (`--runs`; e.g. `--preset fashion_60k`: every Fashion-MNIST
training image), averaged over that folder's seeds for one model (`--score-model`); the retraining uses other seeds
(`--seeds`, default 100,101,102). Both directions: keep the hardest (Paul et al. 2021) or the easiest (Sorscher et al.
2022 find it better when data is scarce). Each kept set is trained for the same number of epochs as the full set (so a
smaller kept set costs proportionally less), and scored on the official test images.

    python bench/prune.py --runs /work/runs/fashion_60k --out bench/prune_fashion      # all 60,000 (hours on 2 cores)
    python bench/prune.py --quick --out /tmp/prune_quick     # digits: records its own scores, 1 seed (about a minute)
    python bench/prune.py --runs ... --out ... --report-only  # rebuild prune.csv, summary.md and the figure

Writes `OUT/prune.csv` (one row per condition and seed), `OUT/summary.md`, `OUT/prune.png`, `OUT/scores.csv.gz` (the
per-sample scores used) and `OUT/config.json`; `OUT/runs/` holds one JSON per finished retraining (what resuming reads).
"""
from __future__ import annotations
import argparse, json, os, sys, time, warnings
from pathlib import Path
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated")
import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from noise import load_data, train, _valid_acc, given_options, apply_quick   # noqa: E402 (the noise benchmark's)
from guided import t_interval, _fmt   # noqa: E402

PROG = 'bench/prune.py'
SCORES = ('learnability', 'early_learnability', 'el2n', 'forgetting_events', 'aum')
DIRECTIONS = ('hardest', 'easiest')
QUICK = dict(dataset='digits', fracs='0.5', seeds='100', scores='learnability,el2n', epochs=4, model='tiny_cnn',
             width=2.0, lr=3e-2, score_seeds='0')
DEFAULTS = dict(model='lenet', width=0.25, epochs=10, bs=128, lr=1e-2)

def cost_epochs(score:str, n_epochs:int) -> int:
    "Training epochs (per seed) a score needs from the recording runs"
    from learnability_nb.scores import early_epoch
    return early_epoch(n_epochs) if score in ('early_learnability', 'el2n') else n_epochs

def hardness(recs:list) -> pd.DataFrame:
    "Per-sample scores from the records of several seeds of one model, oriented so that higher = harder"
    from learnability_nb.scores import scores_table, early_epoch, early_learnability
    stack = lambda k: None if any(getattr(r, k) is None for r in recs) else np.stack([getattr(r, k) for r in recs])
    T = recs[0].n_epochs
    if stack('el2n') is None:
        raise ValueError("these records have no EL2N: they were made before learnability_nb recorded it; "
                         "record them again (learnability_run records EL2N by default)")
    t = scores_table(stack('probs'), stack('correct'), None, stack('margins'), el2n=stack('el2n'))
    return pd.DataFrame({'learnability': -t['learnability'],
                         'early_learnability': -early_learnability(stack('probs'), early_epoch(T)),
                         'el2n': t['el2n'], 'forgetting_events': t['forgetting_events'].replace(np.inf, T + 1),
                         'aum': -t['aum'] if 'aum' in t else np.nan})

def keep_indices(hard:np.ndarray, frac:float, direction:str, seed:int) -> np.ndarray:
    "The kept samples: the `frac` hardest or easiest by `hard` (ties broken at random by `seed`), or a random `frac`"
    n = len(hard)
    k = max(1, int(round(frac * n)))
    rng = np.random.default_rng(seed)
    if direction == 'random': return np.sort(rng.choice(n, k, replace=False))
    tiebreak = rng.random(n)
    order = np.lexsort((tiebreak, -hard if direction == 'hardest' else hard))   # last key sorts first
    return np.sort(order[:k])

def parse_fracs(s:str) -> list:
    try: fracs = [float(v) for v in str(s).split(',') if v != '']
    except ValueError: sys.exit(f"{PROG}: --fracs must be comma-separated numbers in (0, 1], got {s!r}")
    bad = [f for f in fracs if not 0 < f <= 1]
    if bad or not fracs: sys.exit(f"{PROG}: every fraction kept must lie in (0, 1], got {bad or s!r}")
    return fracs

def load_scores(runs:Path, model:str, y_train:np.ndarray, dataset:str) -> tuple[pd.DataFrame, int, int]:
    "Scores of `model` from the run folder `runs`, checked to be of the pruned training set; (table, seeds, epochs)"
    from learnability_nb.records import load_records
    cfg_file = runs/'config.json'
    if not cfg_file.exists(): sys.exit(f"{PROG}: {runs} is not a learnability_run folder (no config.json)")
    ran = json.loads(cfg_file.read_text()).get('dataset')
    if ran != dataset:
        sys.exit(f"{PROG}: the runs in {runs} are of {ran!r}, not of the pruned dataset {dataset!r}")
    files = sorted((runs/'records').glob(f'{model}_seed*.npz'))
    if not files: sys.exit(f"{PROG}: no finished runs of {model!r} in {runs}/records")
    try: recs = [load_records(f) for f in files]
    except ValueError as e: sys.exit(f"{PROG}: {e}")
    for f, r in zip(files, recs):
        if r.n_samples != len(y_train) or not np.array_equal(r.labels, y_train):
            sys.exit(f"{PROG}: {f} is of another training set ({r.n_samples} samples, labels differ) than the one "
                     f"pruned ({len(y_train)} samples of {dataset}): use the runs of this dataset, all images")
    try: table = hardness(recs)
    except ValueError as e: sys.exit(f"{PROG}: {e}")
    return table, len(recs), recs[0].n_epochs

def record_quick_scores(cfg, data, seeds:list) -> tuple[pd.DataFrame, int, int]:
    "For --quick without --runs: record the scores here (the retraining model, seeds `seeds`)"
    x, y, xv, yv, _ = data
    recs = []
    for s in seeds:
        rec, _, _ = train(cfg, x, y, xv, yv, 10, s, mode='eval')
        recs.append(rec.records())
    return hardness(recs), len(recs), cfg['epochs']

def run_one(cfg, data, keep:np.ndarray, seed:int) -> dict:
    x, y, xv, yv, _ = data
    _, learn, secs = train(cfg, x[keep], y[keep], xv, yv, 10, seed, mode='off')
    return dict(test_acc=_valid_acc(learn), train_seconds=round(secs, 1), n_kept=len(keep))

def summary_table(table:pd.DataFrame) -> pd.DataFrame:
    "Per score, direction and fraction: test accuracy [95% t-interval] and the paired difference to random"
    rand = table[table.direction == 'random'].set_index(['frac', 'seed'])['test_acc']
    rows = []
    for (score, direction, frac), g in table.groupby(['score', 'direction', 'frac'], sort=False):
        acc = t_interval(g['test_acc'])
        d = (g.set_index(['frac', 'seed'])['test_acc'] - rand).dropna() if direction != 'random' else pd.Series([])
        diff = t_interval(d) if len(d) else (np.nan,) * 3
        rows.append(dict(score=score, direction=direction, frac=frac, seeds=len(g), acc=_fmt(*acc),
                         vs_random='' if np.isnan(diff[0]) else _fmt(*diff, sign=True), acc_mean=acc[0],
                         diff_mean=diff[0], diff_lo=diff[1], diff_hi=diff[2]))
    return pd.DataFrame(rows).sort_values(['frac', 'direction', 'score']).reset_index(drop=True)

def verdict(s:pd.DataFrame) -> str:
    "Plain words: where a score beats random, loses to it, or cannot be told apart (95% intervals)"
    lines = []
    for _, r in s[s.direction != 'random'].iterrows():
        if np.isnan(r.diff_lo): continue
        word = 'beats' if r.diff_lo > 0 else 'loses to' if r.diff_hi < 0 else 'is not told apart from'
        lines.append(f"- keep the {r.direction} {r.frac:.0%} by {r.score}: {word} random ({_fmt(r.diff_mean, r.diff_lo, r.diff_hi, sign=True)} points)")
    return '\n'.join(lines)

def summarize(table:pd.DataFrame, cfg:dict) -> str:
    s = summary_table(table)
    cols = ['score', 'direction', 'frac', 'seeds', 'acc', 'vs_random']
    head = (f"Dataset {cfg['dataset']}, {cfg['n_train']} training images; scores from {cfg['score_model']} "
            f"({cfg['score_seeds']} seeds, {cfg['score_epochs']} epochs); retrained {cfg['model']} (width {cfg['width']}, "
            f"{cfg['epochs']} epochs) on the kept samples, seeds {cfg['seeds']}. Test accuracy (%) on the held-out "
            "images (Fashion-MNIST: the official 10,000 test images): mean [95% t-interval]; `vs_random`: paired difference (points) to a random subset of the same size "
            "and seed.\n")
    rand = s[s.direction == 'random'].set_index('frac')['acc']
    wide = (s[s.direction != 'random'].assign(kept=lambda d: 'keep the ' + d.direction + ' by ' + d.score)
            .pivot(index='kept', columns='frac', values='vs_random').fillna('')
            .rename(columns=lambda f: f"{f:.0%} kept"))
    wide.loc['random: test accuracy (%)'] = [rand.get(f, '') for f in sorted(s.loc[s.direction != 'random', 'frac'].unique())]
    short = ("In short: points of test accuracy against a random subset of the same size and seed (mean [95% t-interval] "
             "over the seeds); the last row is random's own accuracy.\n\n" + wide.to_markdown() + '\n\n')
    return head + '\n' + short + s[cols].to_markdown(index=False) + '\n\n' + verdict(s) + '\n'

def plot(table:pd.DataFrame, path:Path, full:float|None=None):
    "Test accuracy against the fraction kept: a panel per direction, a line per score, random in each; 95% t-intervals"
    import matplotlib; matplotlib.use('Agg')
    import matplotlib.pyplot as plt, seaborn as sns
    ci = lambda v: t_interval(v)[1:]
    rand = table[table.direction == 'random'].assign(score='random')
    dirs = [d for d in DIRECTIONS if (table.direction == d).any()]
    names = sorted(table.loc[table.direction != 'random', 'score'].unique())
    colors = dict(zip(names, sns.color_palette('tab10', len(names))), random=(0.45, 0.45, 0.45))
    fig, axs = plt.subplots(1, max(1, len(dirs)), figsize=(6 * max(1, len(dirs)), 4.5), sharey=True, squeeze=False)
    for ax, d in zip(axs[0], dirs or ['random']):
        sns.lineplot(data=pd.concat([table[table.direction == d], rand]), x='frac', y='test_acc', hue='score',
                     palette=colors, marker='o', errorbar=ci, err_style='bars', err_kws=dict(capsize=3), ax=ax)
        if full is not None: ax.axhline(full, color='k', lw=0.8, ls=':', label='full training set')
        ax.set(xlabel='fraction of the training set kept', ylabel='test accuracy', title=f'keep the {d} by each score')
        ax.legend(fontsize=7, loc='lower right')
    fig.tight_layout(); fig.savefig(path, dpi=120); plt.close(fig)

def main(argv=None):
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0])
    p.add_argument('--out', required=True, help='output folder (finished retrainings there are kept, not redone)')
    p.add_argument('--runs', default=None, help='a learnability_run folder with the records to score (all images)')
    p.add_argument('--score-model', default=None, help='the model of --runs whose scores to use (default: --model)')
    p.add_argument('--quick', action='store_true', help='digits, a tiny CNN, 2 fractions, 1 seed: about a minute')
    p.add_argument('--report-only', action='store_true', help='rebuild prune.csv, summary.md and prune.png only')
    p.add_argument('--dataset', default='fashion_mnist', choices=('digits', 'fashion_mnist'))
    p.add_argument('--data-path', default=None, help="fashion_mnist's IDX folder (default: Debian's)")
    p.add_argument('--fracs', default='0.3,0.5,0.7', help='comma-separated fractions kept, each in (0, 1]')
    p.add_argument('--scores', default=','.join(SCORES), help=f"comma-separated, of {', '.join(SCORES)}")
    p.add_argument('--seeds', default='100,101,102', help='retraining seeds (use other seeds than the scores)')
    p.add_argument('--score-seeds', default='0,1', help='--quick without --runs: seeds of the recording runs')
    p.add_argument('--no-full', action='store_true', help='skip the reference retraining on the full training set')
    for k, v in DEFAULTS.items(): p.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    a = p.parse_args(argv)
    if a.quick: apply_quick(a, given_options(p, argv), QUICK, PROG)
    fracs = parse_fracs(a.fracs)
    scores = [s for s in a.scores.split(',') if s]
    bad = sorted(set(scores) - set(SCORES))
    if bad: sys.exit(f"{PROG}: unknown score(s) {bad}; choose from {', '.join(SCORES)}")
    try: seeds = [int(v) for v in a.seeds.split(',') if v]
    except ValueError: sys.exit(f"{PROG}: --seeds must be comma-separated integers, got {a.seeds!r}")
    if a.runs is None and not a.quick: sys.exit(f"{PROG}: --runs (a learnability_run folder) is needed, or --quick")
    size = 32 if a.dataset == 'fashion_mnist' else 16
    data = load_data(dict(dataset=a.dataset, size=size, n_train=None), a.data_path, PROG)
    x, y = data[0], np.asarray(data[1])
    cfg = dict(dataset=a.dataset, model=a.model, width=a.width, epochs=a.epochs, bs=a.bs, lr=a.lr, size=size,
               n_train=len(y), seeds=seeds, fracs=fracs, scores=scores, score_model=a.score_model or a.model,
               runs=None if a.runs is None else str(Path(a.runs).resolve()))
    out = Path(a.out)
    scores_file = out/'scores.csv.gz'
    if a.runs is not None: table, n_seeds, T = load_scores(Path(a.runs), cfg['score_model'], y, a.dataset)
    elif scores_file.exists() and a.report_only: table, n_seeds, T = pd.read_csv(scores_file), None, None
    else:
        print(f"{PROG}: recording scores ({cfg['model']}, seeds {a.score_seeds})", flush=True)
        table, n_seeds, T = record_quick_scores(cfg, data, [int(v) for v in a.score_seeds.split(',') if v])
    if T is None:
        old = json.loads((out/'config.json').read_text())
        n_seeds, T = old['score_seeds'], old['score_epochs']
    cfg.update(score_seeds=n_seeds, score_epochs=T, cost_epochs={s: cost_epochs(s, T) for s in scores})
    try: out.mkdir(parents=True, exist_ok=True); (out/'runs').mkdir(exist_ok=True)
    except OSError as e: sys.exit(f"{PROG}: cannot write to {out}: {e.strerror}")
    if (out/'config.json').exists():
        old = {k: v for k, v in json.loads((out/'config.json').read_text()).items() if k in ('dataset', 'model', 'width', 'epochs', 'bs', 'lr', 'runs', 'score_model')}
        new = {k: cfg[k] for k in old}
        if old != new: sys.exit(f"{PROG}: {out} holds runs of other settings {old}; use another --out")
    (out/'config.json').write_text(json.dumps(cfg, indent=1))
    table.to_csv(scores_file, index=False)
    # fraction by fraction, random first: a run stopped part-way leaves whole fractions, each with its baseline
    todo = [t for f in fracs for t in [('random', 'random', f)] + [(s, d, f) for s in scores for d in DIRECTIONS]]
    if not a.no_full: todo.append(('full', 'full', 1.0))
    if not a.report_only:
        for i, (score, direction, frac) in enumerate(todo):
            for seed in seeds:
                f = out/'runs'/f"{score}_{direction}_{int(round(frac * 100))}_seed{seed}.json"
                if f.exists(): continue
                keep = (np.arange(len(y)) if score == 'full' else
                        keep_indices(np.zeros(len(y)) if score == 'random' else table[score].to_numpy(np.float64),
                                     frac, direction, seed))
                t0 = time.perf_counter()
                r = dict(score=score, direction=direction, frac=frac, seed=seed, **run_one(cfg, data, keep, seed))
                tmp = f.with_suffix('.tmp'); tmp.write_text(json.dumps(r)); os.replace(tmp, f)
                print(f"[{i + 1}/{len(todo)}] {score} {direction} {frac:.0%} seed {seed}: test accuracy "
                      f"{r['test_acc']:.4f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    rows = [json.loads(f.read_text()) for f in sorted((out/'runs').glob('*.json'))]
    if not rows: sys.exit(f"{PROG}: no finished retraining in {out}/runs")
    res = pd.DataFrame(rows)
    res.to_csv(out/'prune.csv', index=False)
    pruned = res[res.direction != 'full']
    md = summarize(pruned, cfg)
    full = res[res.direction == 'full']['test_acc']
    if len(full): md += f"\nFull training set: {_fmt(*t_interval(full))} % over {len(full)} seeds.\n"
    md += "\nCost (recording epochs per seed each score needs): " + ', '.join(f"{k} {v}" for k, v in cfg['cost_epochs'].items()) + '\n'
    (out/'summary.md').write_text(md)
    plot(pruned, out/'prune.png', full.mean() if len(full) else None)
    print(md)

if __name__ == '__main__': main()
