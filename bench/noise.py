#!/usr/bin/env python
"""Label-noise benchmark: how well do learnability and the other per-sample scores find mislabelled samples,
next to cleanlab (confident learning) and AUM with threshold samples, on exactly the same noisy data?

Noise goes into the TRAINING labels only (validation stays clean) of scikit-learn's digits (the default) or of
Fashion-MNIST (`--dataset fashion_mnist`: the test set validates, `--n-train` takes a stratified subset of the training
set): symmetric (a flipped label is replaced by a uniformly drawn other class) or class-conditional (each class flips
to one fixed other class: its most confusable one), at a rate, with exactly round(rate * N) labels flipped, fixed by
the seed.

Per setting and seed, the same architecture is trained
- once, recorded by `LearnabilityRecorder` (mode 'eval'): learnability, hit rate, AUM, forgetting events,
  variability, first-learned epoch, early learnability (`learnability_nb.scores`), and the data map's hard-to-learn
  region (low confidence and low variability: ranked by -(confidence + variability), flagged where confidence < 0.5
  and variability is below its median), each oriented so that higher = more likely mislabelled;
- once recorded from the training pass itself (mode 'online'): learnability online, the peers' way of recording;
- k = 5 times for cleanlab: out-of-fold predicted probabilities (stratified 5-fold CV), then
  `cleanlab.rank.get_label_quality_scores` (ranking) and `cleanlab.filter.find_label_issues` (its own cut);
- twice for AUM with threshold samples (Pleiss et al. 2020): N // (c + 1) samples relabelled to an extra fake
  class, AUM recorded during training, the 99th percentile of the threshold samples' AUM is the cut; two runs
  with disjoint threshold sets so that every sample is scored under its own (noisy) label.

    python bench/noise.py --quick --out /tmp/noise_quick     # symmetric 20%, seed 0 (a few minutes on 2 cores)
    python bench/noise.py --quick --dataset fashion_mnist --out /tmp/noise_quick_fashion   # 2,000 images, LeNet-5
    python bench/noise.py --out /tmp/noise                    # 4 settings x seeds 0,1,2 (resumable: done runs are kept)
    python bench/noise.py --out /tmp/noise --settings sym20,cc40 --seeds 3,4
    python bench/noise.py --out /tmp/noise_fashion --dataset fashion_mnist --n-train 10000   # 32x32, 1 channel

Writes `OUT/noise.csv` (one row per method x setting x seed), `OUT/samples_<setting>_seed<k>.csv` (one row per
training sample: idx, true and noisy label, `noisy` 0/1, one column per method, higher = more likely mislabelled),
`OUT/summary.md` (mean ± sd over seeds; paired differences to learnability with 95% t-intervals) and
`OUT/config.json`. Runs are resumable, and a folder from before a method was added gains only that method's runs.
cleanlab is a benchmark dependency: `pip install cleanlab`.

`--quick` is a first run, minutes on 2 CPU cores on either dataset: one setting and one seed, and on Fashion-MNIST a
stratified 2,000 training images validated on a stratified 2,000 test images with LeNet-5 at width 0.25 (the model of
the Fashion-MNIST benchmark, `bench/noise_fashion`). Options given on the command line win over what --quick fixes;
the run prints what it chose.
"""
from __future__ import annotations
import argparse, json, os, platform, sys, time, warnings
from pathlib import Path
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")   # spinning OpenMP threads hurt on a shared machine
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated")
import numpy as np
import pandas as pd
from numbers import Integral

from learnability_nb.noise import KINDS, check_mapping, confusable_mapping, detection_metrics, inject_noise

# ---------------------------------------------------------------------------------------------------------------
# settings, data, training

SETTINGS = {'sym20': ('symmetric', 0.2), 'sym40': ('symmetric', 0.4), 'cc20': ('class_conditional', 0.2),
            'cc40': ('class_conditional', 0.4)} # name -> (kind, rate)
RECORDING_SCORES = ('learnability', 'hit_rate', 'aum', 'forgetting_events', 'variability', 'first_learned', 'early_learnability')
DATA_MAP_CUT = (0.5, 'median') # hard-to-learn region: confidence below 0.5 and variability below its median
METHODS = RECORDING_SCORES + ('data_map_hard', 'learnability_online', 'cleanlab', 'aum_threshold')
GROUPS = {'recording': RECORDING_SCORES + ('data_map_hard',), 'online': ('learnability_online',),
          'cleanlab': ('cleanlab',), 'aum_threshold': ('aum_threshold',)} # methods computed from the same training runs
QUICK = {'digits': dict(settings='sym20', seeds='0'),
         'fashion_mnist': dict(settings='sym20', seeds='0', n_train=2000, n_valid=2000, model='lenet', width=0.25,
                               epochs=10)} # what --quick fixes per dataset, unless given on the command line
DEFAULTS = dict(model='resnet20', width=0.25, epochs=10, bs=64, lr=1e-2, folds=5, early_k=3, aum_pct=99.0)

DATASETS = ('digits', 'fashion_mnist')

def load_split(dataset:str, size:int, n_train:int|None=None, data_path=None, n_valid:int|None=None):
    "The package's split of `dataset` (seed 0): normalised train/valid images, labels, and raw train pixels (N, D)"
    from learnability_nb.data import digits_dls, fashion_mnist_dls, load_fashion_mnist, stratified_subset
    if dataset == 'digits':
        from sklearn.datasets import load_digits
        dls = digits_dls(bs=64, size=size, seed=0, device='cpu')   # already normalised floats, 3 channels
        tr, va = dls.train_ds.ds, dls.valid_ds.ds
        return tr.images, tr.labels.numpy(), va.images, va.labels.numpy(), load_digits().data[dls.splits[0]]
    if dataset != 'fashion_mnist': raise ValueError(f"unknown dataset {dataset!r}; choose {' or '.join(DATASETS)}")
    dls = fashion_mnist_dls(data_path, bs=1, size=size, n_train=n_train, seed=0, device='cpu')   # uint8, 1 channel
    tr, va = dls.train_ds.ds, dls.valid_ds.ds
    raw = load_fashion_mnist(data_path)[0][dls.splits[0]].reshape(len(dls.splits[0]), -1) / 255   # the official 28x28
    keep = slice(None)
    if n_valid is not None:   # a stratified subset of the test images, fixed
        if not 1 <= n_valid <= len(va.labels): raise ValueError(f"n_valid must be between 1 and {len(va.labels)}, got {n_valid}")
        keep = stratified_subset(va.labels.numpy(), n_valid, seed=0)
    return tr.tfm(tr.images), tr.labels.numpy(), va.tfm(va.images[keep]), va.labels.numpy()[keep], raw

def add_data_args(p):
    "--dataset, --n-train, --n-valid, --data-path and --size (shared with bench/guided.py)"
    p.add_argument('--dataset', default='digits', choices=DATASETS, help='digits (scikit-learn) or fashion_mnist')
    p.add_argument('--n-train', type=int, default=None,
                   help='fashion_mnist only: a stratified subset of the 60,000 training images (fixed); default all')
    p.add_argument('--n-valid', type=int, default=None,
                   help='fashion_mnist only: validate on a stratified subset of the 10,000 test images (fixed); default all')
    p.add_argument('--data-path', default=None, help="fashion_mnist only: folder with the four IDX files; default "
                   "Debian's /usr/share/datasets/fashion-mnist (apt-get install dataset-fashion-mnist), then fastai's")
    p.add_argument('--size', type=int, default=None, help='image side; default 16 (digits), 32 (fashion_mnist: >= 28)')

def data_cfg(a) -> dict:
    "dataset, n_train and the resolved size of the parsed options, or exit saying what is wrong"
    fashion = a.dataset == 'fashion_mnist'
    for opt, v in (('--n-train', a.n_train), ('--n-valid', a.n_valid), ('--data-path', a.data_path)):
        if v is not None and not fashion: sys.exit(f"{opt} is for --dataset fashion_mnist, not {a.dataset}")
    size = a.size if a.size is not None else 32 if fashion else 16
    if fashion and size < 28: sys.exit(f"--size must be >= 28 for fashion_mnist (28x28, padded to it), got {size}")
    if size < 1: sys.exit(f"--size must be >= 1, got {size}")
    return dict(dataset=a.dataset, n_train=a.n_train, n_valid=a.n_valid, size=size)

def load_data(cfg:dict, data_path=None, prog:str='bench/noise.py'):
    "`load_split` of `cfg`, exiting with one line on missing or broken data files"
    try: return load_split(cfg['dataset'], cfg['size'], cfg['n_train'], data_path, cfg.get('n_valid'))
    except (OSError, ValueError) as e: sys.exit(f"{prog}: {e}")

def given_options(p:argparse.ArgumentParser, argv=None) -> set:
    "The options (destinations) that the command line `argv` (None: `sys.argv`) gives, rather than leaves at their default"
    saved = {act: act.default for act in p._actions}
    try:
        for act in saved: act.default = argparse.SUPPRESS
        return set(vars(p.parse_args(argv)))
    finally:
        for act, d in saved.items(): act.default = d

def apply_quick(a:argparse.Namespace, given:set, quick:dict, prog:str) -> dict:
    "Set each option of `quick` that the command line did not give (`given`); print what --quick runs and return it"
    for k, v in quick.items():
        if k not in given: setattr(a, k, v)
    chosen = {k: getattr(a, k) for k in quick}
    kept = [f"--{k.replace('_', '-')}" for k in quick if k in given]
    on = f" on {a.dataset}" if getattr(a, 'dataset', None) else ''
    print(f"{prog} --quick{on}: " + ', '.join(f"{k.replace('_', '-')} {v}" for k, v in chosen.items())
          + (f" ({', '.join(kept)} as given)" if kept else ''), flush=True)
    return chosen

def _model(cfg, n_classes, in_channels=3):
    from learnability_nb.models import get_model
    from learnability_nb.test_utils import tiny_cnn
    if cfg['model'] == 'tiny_cnn': return tiny_cnn(n_classes, in_channels, max(1, int(round(16 * cfg['width']))))
    return get_model(cfg['model'], n_classes=n_classes, in_channels=in_channels, width=cfg['width'])

def train(cfg:dict, x_train, y_train, x_valid, y_valid, n_classes:int, seed:int, mode:str='eval', cbs=()):
    "Train as `learnability_nb.experiment.train_one` does on the CPU (Adam, fit_one_cycle, cross-entropy), recording in `mode`; `cbs`: more callbacks"
    import torch
    from fastai.basics import Learner, CrossEntropyLossFlat, accuracy, set_seed
    from fastai.optimizer import Adam
    from fastai.callback.schedule import fit_one_cycle  # noqa: F401 (patches Learner)
    from learnability_nb.fastdata import fast_dls_from_tensors
    from learnability_nb.callback import LearnabilityRecorder
    set_seed(seed, reproducible=True)
    dls = fast_dls_from_tensors(x_train, torch.as_tensor(y_train), x_valid, torch.as_tensor(y_valid), bs=cfg['bs'], device='cpu',
                                name=f"noisy {cfg.get('dataset', 'digits')}", vocab=[str(i) for i in range(n_classes)])
    rec = LearnabilityRecorder(mode)
    learn = Learner(dls, _model(cfg, n_classes, x_train.shape[1]), loss_func=CrossEntropyLossFlat(), metrics=accuracy,
                    cbs=[rec, *cbs], opt_func=Adam)
    start = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(cfg['epochs'], cfg['lr'])
    return rec, learn, time.perf_counter() - start

def _valid_acc(learn) -> float:
    with learn.no_bar(), learn.no_logging(): return float(learn.validate()[1])

def recording_scores(rec, epochs:int, early_k:int) -> pd.DataFrame:
    "The package's per-sample scores from one recording, oriented so that higher = more likely mislabelled"
    from learnability_nb.scores import scores_table, early_learnability
    t = scores_table(rec.probs, rec.correct, rec.counts, rec.margins)
    return pd.DataFrame({
        'learnability': -t['learnability'], 'hit_rate': -t['hit_rate'], 'aum': -t['aum'],
        'forgetting_events': t['forgetting_events'].replace(np.inf, epochs + 1),   # never learnt: above any count
        # Swayamdipta et al. find mislabelled samples in the hard-to-learn region: low confidence AND low variability
        # (p(given label) stays low in every epoch). A first quick run that took high variability as suspicious got AUROC 0.02
        'variability': -t['variability'],
        'first_learned': t['first_learned'].replace(np.inf, epochs + 1),
        'early_learnability': -early_learnability(rec.probs, early_k),
        # the data map's hard-to-learn region (low confidence AND low variability) as a ranking: distance from its corner
        'data_map_hard': -(t['learnability'] + t['variability'])}).reset_index(drop=True)

def data_map_flags(conf, var) -> np.ndarray:
    "The data map's hard-to-learn region: confidence below 0.5 and variability below its median (`DATA_MAP_CUT`)"
    conf, var = np.asarray(conf, np.float64), np.asarray(var, np.float64)
    return (conf < DATA_MAP_CUT[0]) & (var < np.median(var))

def oof_probs(cfg, x, y, seed, log=print) -> tuple[np.ndarray, float]:
    "Out-of-fold predicted probabilities (N, c) from stratified k-fold CV (`cfg['folds']`) of the architecture, and seconds"
    from sklearn.model_selection import StratifiedKFold
    c = int(y.max()) + 1
    oof, secs = np.full((len(y), c), np.nan, np.float32), 0.
    for fold, (tr, ho) in enumerate(StratifiedKFold(cfg['folds'], shuffle=True, random_state=seed).split(np.zeros(len(y)), y)):
        # the held-out fold is the validation set: its labels are only used for fastai's epoch metric
        _, learn, s = train(cfg, x[tr], y[tr], x[ho], y[ho], c, seed, mode='off')
        with learn.no_bar(), learn.no_logging(): probs, _ = learn.get_preds(ds_idx=1)
        oof[ho], secs = probs.numpy(), secs + s
        log(f"    fold {fold + 1}/{cfg['folds']} (seed {seed}): {s:.0f}s")
    return oof, secs

def cleanlab_scores(cfg, x, y_noisy, x_valid, y_valid, seed, log=print):
    "Out-of-fold probabilities from k-fold CV of the same architecture; cleanlab's label quality (ranking) and issues (cut)"
    try:
        from cleanlab.filter import find_label_issues
        from cleanlab.rank import get_label_quality_scores
    except ImportError:
        sys.exit("bench/noise.py needs cleanlab for its reference method: pip install cleanlab")
    oof, secs = oof_probs(cfg, x, y_noisy, seed, log)
    score = 1 - get_label_quality_scores(y_noisy, oof)   # self-confidence: 1 - p(given label), out of fold
    issues = find_label_issues(y_noisy, oof)
    return score, issues, secs, dict(oof_accuracy_vs_noisy=float((oof.argmax(1) == y_noisy).mean()))

def aum_threshold_scores(cfg, x, y_noisy, x_valid, y_valid, seed, log=print):
    "Pleiss et al.'s AUM with threshold samples: two runs with disjoint sets of N // (c+1) samples given a fake class c"
    from learnability_nb.scores import aum
    c, n = int(y_noisy.max()) + 1, len(y_noisy)
    n_thr = n // (c + 1)
    perm = np.random.default_rng(10_000 + seed).permutation(n)
    diff, seen, secs, cuts = np.zeros(n), np.zeros(n), 0., []
    for run, thr in enumerate((perm[:n_thr], perm[n_thr:2 * n_thr])):
        y = y_noisy.copy(); y[thr] = c
        rec, learn, s = train(cfg, x, y, x_valid, y_valid, c + 1, seed, mode='online')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', RuntimeWarning)   # never drawn (short runs, dropped last batch): NaN
            a = aum(rec.margins)
        cut = float(np.nanpercentile(a[thr], cfg['aum_pct']))
        mine = np.ones(n, bool); mine[thr] = False
        mine &= ~np.isnan(a)   # a sample never drawn in this run has no margin here
        diff[mine] += a[mine] - cut; seen[mine] += 1
        secs += s; cuts.append(cut)
        log(f"    aum threshold run {run + 1}/2: {s:.0f}s, cut (p{cfg['aum_pct']:g} of threshold AUM) {cut:.3f}")
    diff = np.divide(diff, seen, out=np.zeros(n), where=seen > 0)   # scored where it kept its own label; never: at the cut
    return -diff, (diff <= 0) & (seen > 0), secs, dict(aum_cuts=cuts, aum_never_seen=int((seen == 0).sum()))

# ---------------------------------------------------------------------------------------------------------------
# one setting × seed, and the whole grid

def run_one(cfg:dict, setting:str, seed:int, data, mapping, out:Path, log=print) -> pd.DataFrame:
    """Noise, one recording, one online recording, cleanlab's k-fold CV and AUM's threshold runs on the same noisy labels;
    saves samples and rows. Methods already in `out/runs` for this setting and seed are kept: only missing groups train"""
    x, y, xv, yv, _ = data
    kind, rate = SETTINGS[setting]
    y_noisy, mask = inject_noise(y, rate, kind, seed=seed, n_classes=10, mapping=mapping)
    T, c = cfg['epochs'], 10
    rows_f, info_f = out/'runs'/f'{setting}_seed{seed}.csv', out/'runs'/f'{setting}_seed{seed}.json'
    old = pd.read_csv(rows_f) if rows_f.exists() else None
    have = set() if old is None else set(old['method'])
    todo = [g for g, ms in GROUPS.items() if not set(ms) <= have]
    log(f"[{setting} seed {seed}] {mask.sum()} of {len(y)} training labels flipped ({kind}, {rate:.0%}); to run: {', '.join(todo)}")
    sf = out/f'samples_{setting}_seed{seed}.csv'
    samples = pd.DataFrame({'idx': np.arange(len(y)), 'label_true': y, 'label_noisy': y_noisy, 'noisy': mask.astype(int)})
    if sf.exists():
        prev = pd.read_csv(sf)
        samples = pd.concat([samples, prev.drop(columns=[k for k in samples if k in prev])], axis=1)
    cuts, cost, info = {}, {}, json.loads(info_f.read_text()) if info_f.exists() else {}
    rec_acc = np.nan if old is None else float(old['recording_valid_acc'].iloc[0])
    if 'recording' in todo:
        rec, learn, rec_secs = train(cfg, x, y_noisy, xv, yv, c, seed, mode='eval')
        rec_acc = _valid_acc(learn)
        log(f"    recording: {rec_secs:.0f}s, clean valid accuracy {rec_acc:.3f}")
        sc = recording_scores(rec, T, cfg['early_k'])
        for k in sc: samples[k] = sc[k].to_numpy()
        cuts.update({'learnability': samples['learnability'] > -0.5,   # mean p(given label) < 1/2
                     'hit_rate': samples['hit_rate'] > -0.5,           # misclassified in most epochs
                     'aum': samples['aum'] > 0,                        # given label's logit below another's on average
                     'data_map_hard': data_map_flags(-samples['learnability'], -samples['variability'])})
        cost.update({m: (T, rec_secs) for m in GROUPS['recording']})
    if 'online' in todo:   # the same training, recorded from the training pass itself (augmentation-free here)
        rec, _, s = train(cfg, x, y_noisy, xv, yv, c, seed, mode='online')
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', UserWarning)   # a sample never drawn (the last partial batch) is NaN
            lo = rec.learnability()
        samples['learnability_online'] = np.where(np.isnan(lo), -0.5, -lo)   # never seen: at the cut (p = 0.5), no evidence either way
        cuts['learnability_online'] = samples['learnability_online'] > -0.5
        cost['learnability_online'] = (T, s)
        info['online_never_seen'] = int(np.isnan(lo).sum())
        log(f"    online recording: {s:.0f}s, {int(np.isnan(lo).sum())} sample(s) never seen")
    if 'cleanlab' in todo:
        cl, cl_issues, cl_secs, cl_info = cleanlab_scores(cfg, x, y_noisy, xv, yv, seed, log)
        samples['cleanlab'], samples['cleanlab_flagged'] = cl, cl_issues.astype(int)
        cuts['cleanlab'], cost['cleanlab'] = cl_issues, (cfg['folds'] * T, cl_secs)
        info.update(cl_info)
    if 'aum_threshold' in todo:
        at, at_flag, at_secs, at_info = aum_threshold_scores(cfg, x, y_noisy, xv, yv, seed, log)
        samples['aum_threshold'], samples['aum_threshold_flagged'] = at, at_flag.astype(int)
        cuts['aum_threshold'], cost['aum_threshold'] = at_flag, (2 * T, at_secs)
        info.update(at_info)
    rows = []
    for m in [m for g in todo for m in GROUPS[g]]:
        rows.append(dict(dataset=cfg['dataset'], method=m, setting=setting, seed=seed,
                         **detection_metrics(samples[m], mask, cuts.get(m)),
                         epochs=cost[m][0], train_seconds=round(cost[m][1], 1), noise_rate=rate, kind=kind,
                         n_noisy=int(mask.sum()), n=len(y), recording_valid_acc=round(rec_acc, 4)))
    rows = pd.DataFrame(rows)
    if old is not None: rows = pd.concat([old[~old.method.isin(rows.method)], rows], ignore_index=True)
    rows['recording_valid_acc'] = round(rec_acc, 4)   # one recording per setting and seed
    rows = rows.assign(_o=rows.method.map({m: i for i, m in enumerate(METHODS)})).sort_values('_o').drop(columns='_o')
    samples.to_csv(sf, index=False)
    rows.to_csv(rows_f, index=False)
    info_f.write_text(json.dumps(info, indent=2))
    return rows

def pivot(table:pd.DataFrame, metric:str) -> pd.DataFrame:
    "One metric as 'mean ± sd (n)' over seeds: methods as rows, settings as columns"
    g = table.groupby(['method', 'setting'], sort=False)[metric]
    cell = lambda v: '–' if v.isna().all() else f"{v.mean():.3f} ± {v.std(ddof=1):.3f}" if len(v) > 1 else f"{v.mean():.3f}"
    df = g.apply(cell).unstack('setting')
    return df.loc[[m for m in METHODS if m in df.index], [s for s in SETTINGS if s in df.columns]]

def paired_pivot(d:pd.DataFrame, metric:str) -> pd.DataFrame:
    "Paired differences as 'mean [95% t-interval] (n)' over seeds: methods as rows, settings as columns"
    from scipy import stats
    def cell(v):
        v = v.dropna().to_numpy()
        if not len(v): return '–'
        if len(v) < 2 or np.ptp(v) == 0: return f"{v.mean():+.3f}"
        lo, hi = stats.t.interval(0.95, len(v) - 1, loc=v.mean(), scale=stats.sem(v))
        return f"{v.mean():+.3f} [{lo:+.3f}, {hi:+.3f}]" + ('*' if lo > 0 or hi < 0 else '')
    df = d.groupby(['method', 'setting'], sort=False)[metric].apply(cell).unstack('setting')
    return df.loc[[m for m in METHODS if m in df.index], [s for s in SETTINGS if s in df.columns]]

def summarize(table:pd.DataFrame) -> str:
    "Markdown: AUROC, AP and precision at the noise rate per method and setting; then per setting every metric"
    cols = ['auroc', 'ap', 'p_at_rate', 'precision', 'recall', 'n_flagged']
    seeds = table.groupby('setting')['seed'].nunique()
    ds = ', '.join(map(str, table['dataset'].unique())) if 'dataset' in table else 'digits'
    parts = [f"Dataset {ds}, {int(table['n'].iloc[0])} training images. Mean ± sd over seeds "
             f"(seeds per setting: {', '.join(f'{k} {v}' for k, v in seeds.items())}).\n"]
    for metric, what in [('auroc', 'AUROC'), ('ap', 'Average precision'), ('p_at_rate', 'Precision (= recall) at the true noise rate'),
                         ('precision', "Precision at the method's own cut"), ('recall', "Recall at the method's own cut")]:
        parts.append(f"#### {what}\n\n{pivot(table, metric).to_markdown()}\n")
    ref = table[table.method == 'learnability'].set_index(['setting', 'seed'])
    for metric, what in [('auroc', 'AUROC'), ('ap', 'Average precision')]:
        d = table.assign(**{metric: table[metric] - ref[metric].reindex(pd.MultiIndex.from_frame(table[['setting', 'seed']])).to_numpy()})
        parts.append(f"#### {what} minus learnability's, paired by seed (the same noisy labels): mean [95% t-interval], "
                     f"* where it excludes 0\n\n{paired_pivot(d[d.method != 'learnability'], metric).to_markdown()}\n")
    for setting, g in table.groupby('setting', sort=False):
        agg = g.groupby('method', sort=False)
        n = agg['seed'].nunique()
        def fmt(col):
            m, s = agg[col].mean(), agg[col].std(ddof=1)
            return [('–' if np.isnan(a) else (f"{a:.0f}" if col == 'n_flagged' else f"{a:.3f}") +
                     ('' if np.isnan(a) or np.isnan(b) else (f" ± {b:.0f}" if col == 'n_flagged' else f" ± {b:.3f}")))
                    for a, b in zip(m, s)]
        df = pd.DataFrame({col: fmt(col) for col in cols}, index=agg['auroc'].mean().index)
        df['epochs'] = agg['epochs'].first().astype(int).values
        df['train s'] = agg['train_seconds'].mean().round(0).astype(int).values
        df['seeds'] = n.values
        acc = g['recording_valid_acc']
        parts.append(f"### {setting} ({g['kind'].iloc[0]}, {g['noise_rate'].iloc[0]:.0%}, {int(g['n_noisy'].iloc[0])} of {int(g['n'].iloc[0])} flipped)\n\n"
                     f"Clean validation accuracy of the recording run: {acc.mean():.3f} ± {acc.std(ddof=1) if len(acc) > 1 else 0:.3f}\n\n"
                     + df.to_markdown() + "\n")
    return "\n".join(parts)

def recorded_mapping(out:Path) -> np.ndarray|None:
    "The class-conditional map `out/config.json` records (computed once per folder), or None"
    cf = out/'config.json'
    m = json.loads(cf.read_text()).get('mapping') if cf.exists() else None
    return None if m is None else check_mapping(m, 10)

def claim_out(out:Path, cfg:dict, meta:dict):
    "Make `out` hold runs of `cfg` (writing `meta` as its config.json), or exit if it holds runs of another configuration"
    cf = out/'config.json'
    if cf.exists():
        old = dict(dict(dataset='digits', n_train=None), **json.loads(cf.read_text()))   # before --dataset: digits
        diff = {k: (old.get(k), cfg[k]) for k in cfg if old.get(k) != cfg[k]}
        if diff: sys.exit(f"{out} holds runs of another configuration {diff}: use another --out")
    else: cf.write_text(json.dumps(meta, indent=2))

def _ints(s): return [int(v) for v in str(s).split(',') if v != '']

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='output folder (runs already there are kept and not redone)')
    p.add_argument('--quick', action='store_true', help='a first run in minutes: ' + '; '.join(
        f"{d}: {', '.join(f'{k} {v}' for k, v in q.items())}" for d, q in QUICK.items()) + ' (options given win)')
    p.add_argument('--report-only', action='store_true', help='only rebuild noise.csv and summary.md from the runs in --out')
    p.add_argument('--settings', default=','.join(SETTINGS), help=f"comma-separated, of {', '.join(SETTINGS)}")
    p.add_argument('--seeds', default='0,1,2', help='comma-separated seeds (each fixes the noise draw and the trainings)')
    add_data_args(p)
    for k, v in DEFAULTS.items(): p.add_argument(f"--{k.replace('_', '-')}", type=type(v), default=v)
    a = p.parse_args(argv)
    if a.quick: apply_quick(a, given_options(p, argv), QUICK[a.dataset], 'bench/noise.py')
    cfg = dict(data_cfg(a), **{k: getattr(a, k) for k in DEFAULTS})
    try:
        import cleanlab  # noqa: F401
    except ImportError:
        sys.exit("bench/noise.py needs cleanlab for its reference method: pip install cleanlab")
    settings, seeds = a.settings.split(','), _ints(a.seeds)
    bad = [s for s in settings if s not in SETTINGS]
    if bad: sys.exit(f"unknown setting(s) {bad}; choose from {', '.join(SETTINGS)}")
    from learnability_nb.models import MODELS
    if a.model not in (*MODELS, 'tiny_cnn'): sys.exit(f"unknown model {a.model!r}; choose {', '.join(MODELS)} or tiny_cnn")
    if not 1 <= a.early_k <= a.epochs: sys.exit(f"--early-k must be in 1..--epochs ({a.epochs}), got {a.early_k}")
    import torch, fastai, cleanlab, sklearn
    data = load_data(cfg, a.data_path)   # before anything is written: a data error leaves --out as it was
    out = Path(a.out)
    mapping = recorded_mapping(out)
    if mapping is None and not a.report_only and any(SETTINGS[s][0] == 'class_conditional' for s in settings):
        try: mapping = confusable_mapping(data[4], data[1])   # minutes on Fashion-MNIST: only when a cc setting runs
        except ValueError as e: sys.exit(f"bench/noise.py: {e}")
    (out/'runs').mkdir(parents=True, exist_ok=True)
    meta = dict(cfg, data_path=a.data_path, mapping=None if mapping is None else mapping.tolist(), torch=torch.__version__,
                fastai=fastai.__version__, cleanlab=cleanlab.__version__,
                sklearn=sklearn.__version__, python=platform.python_version(), machine=f"{platform.machine()}, {os.cpu_count()} CPU(s)",
                torch_threads=torch.get_num_threads())
    claim_out(out, cfg, meta)
    if mapping is not None:
        known = json.loads((out/'config.json').read_text())
        if known.get('mapping') is None: (out/'config.json').write_text(json.dumps(dict(known, mapping=mapping.tolist()), indent=2))
        print(f"class-conditional map (most confused other class): {dict(enumerate(mapping.tolist()))}", flush=True)
    start = time.perf_counter()
    for seed in ([] if a.report_only else seeds):   # seed-major: a grid cut short has every setting at the same number of seeds, give or take one
        for setting in settings:
            f = out/'runs'/f'{setting}_seed{seed}.csv'
            if f.exists() and set(METHODS) <= set(pd.read_csv(f)['method']): print(f"[{setting} seed {seed}] done before, kept"); continue
            t0 = time.perf_counter()
            rows = run_one(cfg, setting, seed, data, mapping, out, log=lambda m: print(m, flush=True))
            print(f"[{setting} seed {seed}] {time.perf_counter() - t0:.0f}s\n" +
                  rows[['method', 'auroc', 'ap', 'p_at_rate', 'precision', 'recall']].round(3).to_string(index=False), flush=True)
    table = pd.concat([pd.read_csv(f) for f in sorted((out/'runs').glob('*.csv'))], ignore_index=True)
    order = {s: i for i, s in enumerate(SETTINGS)}
    table = table.sort_values(['setting', 'seed'], key=lambda s: s.map(order) if s.name == 'setting' else s, kind='stable')
    table = table.drop(columns='dataset', errors='ignore'); table.insert(0, 'dataset', cfg['dataset'])   # one per --out
    table.to_csv(out/'noise.csv', index=False)
    md = summarize(table)
    (out/'summary.md').write_text(md)
    print(f"\n{md}\nwrote {out/'noise.csv'} ({len(table)} rows) and {out/'summary.md'} in {time.perf_counter() - start:.0f}s")

if __name__ == '__main__': main()
