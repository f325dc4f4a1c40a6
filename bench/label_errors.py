#!/usr/bin/env python
"""Label errors in Fashion-MNIST's real labels: the hardest samples by learnability, next to what cleanlab flags.

The learnability of each of the 10,000 training images of the `fashion` preset comes from the package's shipped table
(`load_learnability_table('fashion_mnist')`: six architectures x 5 seeds, `mean_learnability`). The preset records the
probability of the given label, not the predicted class, so the prediction shown is out of fold: stratified 5-fold
cross-validation of LeNet-5 (the label-noise benchmark's training: width 0.25, 10 epochs, Adam, lr 0.01, batch 64), once
per `--seeds` seed; each image's prediction is the most frequent argmax over the seeds, and cleanlab's
`find_label_issues` runs on the out-of-fold probabilities averaged over the seeds, the same data and labels.

    python bench/label_errors.py --out bench/label_errors_fashion              # 3 seeds x 5 folds (resumable)
    python bench/label_errors.py --out /tmp/le --quick                          # 2,000 images, 1 seed, 2 epochs

Writes `OUT/hardest.csv` (the hardest 1% with label, prediction, cleanlab flag), `OUT/label_errors.png` (the 32
hardest, given label against predicted), `OUT/summary.md` (the overlap of the hardest 1% with cleanlab's flags, against
chance) and `OUT/oof_seed<k>.npy` (what resuming reads). Needs cleanlab (`pip install -e '.[bench]'`).

`--quick` is a first run in a minute or two on 2 CPU cores: the hardest among a stratified 2,000 of the table's images,
one seed of the cross-validation, 2 epochs. Options given on the command line win over what --quick fixes; the run
prints what it chose.
"""
from __future__ import annotations
import argparse, json, os, sys, time, warnings
from pathlib import Path
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated")
import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).parent))
from noise import apply_quick, given_options, load_data, oof_probs   # noqa: E402 (the label-noise benchmark's)

DEFAULTS = dict(model='lenet', width=0.25, epochs=10, bs=64, lr=1e-2, folds=5)
N_TRAIN, SHOW, TOP = 10_000, 32, 0.01
QUICK = dict(seeds='0', subset=2000, epochs=2) # what --quick fixes, unless given on the command line

def most_frequent(preds:np.ndarray) -> np.ndarray:
    "(S, N) class ids -> (N,) the most frequent per column; ties go to the lowest class id"
    c = int(preds.max()) + 1
    return np.stack([(preds == k).sum(0) for k in range(c)]).argmax(0)

def overlap(hard:np.ndarray, flagged:np.ndarray) -> dict:
    "How many of the `hard` (bool) are `flagged` (bool), the count expected by chance, and the hypergeometric p-value"
    N, k, f = len(hard), int(hard.sum()), int(flagged.sum())
    both = int((hard & flagged).sum())
    return dict(hardest=k, flagged=f, both=both, expected=k * f / N, p_value=float(stats.hypergeom.sf(both - 1, N, f, k)))

def plot_hardest(raw, table:pd.DataFrame, vocab, n:int=SHOW, cols:int=8):
    "The `n` hardest images with their given label, the out-of-fold prediction and learnability; red: cleanlab flags it"
    import matplotlib.pyplot as plt
    rows = -(-n // cols)
    fig, axs = plt.subplots(rows, cols, figsize=(cols * 1.9, rows * 2.25))
    for ax, (_, r) in zip(axs.ravel(), table.head(n).iterrows()):
        ax.imshow(raw[int(r.idx)], cmap='gray_r')
        ax.set_title(f"given {vocab[int(r.label)]}\npred {vocab[int(r.predicted)]}\nL={r.learnability:.2f}", fontsize=7.5,
                     color='crimson' if r.cleanlab_flagged else 'black')
    for ax in axs.ravel(): ax.axis('off')
    fig.suptitle(f"The {n} hardest of {len(table):,} Fashion-MNIST training images by learnability (6 models x 5 seeds); "
                 "pred: out-of-fold LeNet-5; red: flagged by cleanlab", fontsize=9)
    fig.tight_layout()
    return fig

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True, help='output folder (seeds already there are kept)')
    p.add_argument('--seeds', default='0,1,2', help='comma-separated seeds of the cross-validation')
    p.add_argument('--data-path', default=None, help="folder with the four IDX files; default Debian's, then fastai's")
    p.add_argument('--quick', action='store_true',
                   help=f"a first run in minutes: {', '.join(f'{k} {v}' for k, v in QUICK.items())} (options given win)")
    p.add_argument('--n-train', type=int, default=N_TRAIN, help="the preset's stratified subset (seed 0)")
    p.add_argument('--subset', type=int, default=None,
                   help="the hardest among a stratified subset of this many of the table's images (seed 0); default all")
    p.add_argument('--epochs', type=int, default=DEFAULTS['epochs'], help='epochs of each cross-validation fold')
    p.add_argument('--table', default=None, help='a CSV with idx, label, mean_learnability; default the shipped table')
    a = p.parse_args(argv)
    if a.quick: apply_quick(a, given_options(p, argv), QUICK, 'bench/label_errors.py')
    try: from cleanlab.filter import find_label_issues
    except ImportError: sys.exit("bench/label_errors.py needs cleanlab: pip install -e '.[bench]'")
    from learnability_nb.data import fashion_mnist_dls, load_learnability_table, load_fashion_mnist, stratified_subset
    if a.epochs < 1: sys.exit(f"--epochs must be >= 1, got {a.epochs}")
    cfg = dict(DEFAULTS, dataset='fashion_mnist', n_train=a.n_train, size=32, epochs=a.epochs)
    seeds = [int(s) for s in a.seeds.split(',') if s]
    x, y, *_ = load_data(cfg, a.data_path, 'bench/label_errors.py')   # before anything is written
    dls = fashion_mnist_dls(a.data_path, bs=1, n_train=a.n_train, seed=0, device='cpu')
    pos, vocab = dls.splits[0], list(dls.vocab)   # the subset's positions in the official training set
    from learnability_nb.results import subset_part   # the shipped table holds all 60,000 images: the subset's part
    table = subset_part(load_learnability_table('fashion_mnist') if a.table is None else pd.read_csv(a.table)).set_index('idx')
    if set(table.index) != set(pos.tolist()): sys.exit("bench/label_errors.py: the learnability table holds other samples than the subset")
    if a.subset is not None:   # a stratified part of the table's images, fixed
        if not 1 <= a.subset <= len(y): sys.exit(f"--subset must be between 1 and {len(y)} (the table's images), got {a.subset}")
        part = stratified_subset(y, a.subset, seed=0)
        x, y, pos = x[part], y[part], pos[part]
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    cf, run_cfg = out/'config.json', dict(cfg, quick=a.quick, subset=a.subset)
    if cf.exists():
        old = {k: v for k, v in json.loads(cf.read_text()).items() if k != 'seeds'}
        if any(old.get(k) != v for k, v in run_cfg.items()):   # a folder from before --subset: all images
            sys.exit(f"{out} holds runs of another configuration {old}: use another --out")
    cf.write_text(json.dumps(dict(run_cfg, seeds=seeds), indent=2))
    start, oofs = time.perf_counter(), []
    for seed in seeds:
        f = out/f"oof_seed{seed}{'_quick' if a.quick else ''}.npy"
        if not f.exists():
            oof, secs = oof_probs(cfg, x, y, seed, log=lambda m: print(m, flush=True))
            np.save(f, oof)
            print(f"seed {seed}: {secs:.0f}s of training, out-of-fold accuracy {(oof.argmax(1) == y).mean():.3f}", flush=True)
        oofs.append(np.load(f))
    oof = np.stack(oofs)                                 # (S, N, c)
    pred = most_frequent(oof.argmax(2))
    flagged = find_label_issues(y, oof.mean(0))
    df = pd.DataFrame(dict(idx=pos, label=y, predicted=pred, cleanlab_flagged=flagged,
                           p_given_oof=oof.mean(0)[np.arange(len(y)), y]))
    df['learnability'] = table.loc[pos, 'mean_learnability'].to_numpy()
    if not (table.loc[pos, 'label'].to_numpy() == y).all(): sys.exit("bench/label_errors.py: labels differ from the table's")
    df = df.sort_values('learnability', kind='stable').reset_index(drop=True)
    k = max(1, int(round(TOP * len(df))))
    hard = np.zeros(len(df), bool); hard[:k] = True
    ov = overlap(hard, df['cleanlab_flagged'].to_numpy())
    top = df.head(k).assign(**{'class': lambda d: d.label.map(dict(enumerate(vocab))),
                               'predicted_class': lambda d: d.predicted.map(dict(enumerate(vocab)))})
    top.to_csv(out/'hardest.csv', index=False, float_format='%.4f')
    raw = load_fashion_mnist(a.data_path)[0]
    fig = plot_hardest(raw, df, vocab, n=min(SHOW, len(df)))
    fig.savefig(out/'label_errors.png', dpi=100, bbox_inches='tight')
    disagree = float((top.predicted != top.label).mean())
    which = (f"a stratified {len(df):,} of the {a.n_train:,} training images" if a.subset is not None
             else f"the {len(df):,} training images")
    md = (f"Fashion-MNIST, {which} of the `fashion` preset. Hardest 1% by mean learnability over "
          f"6 architectures x 5 seeds: {k} images. Out-of-fold LeNet-5 predictions, {len(seeds)} seed(s) of "
          f"{cfg['folds']}-fold cross-validation, {cfg['epochs']} epochs (accuracy against the given labels "
          f"{(pred == y).mean():.3f}).\n\n"
          f"- cleanlab (`find_label_issues` on the seed-averaged out-of-fold probabilities) flags {ov['flagged']} of "
          f"{len(df):,} ({ov['flagged'] / len(df):.1%}).\n"
          f"- Of the hardest {k}, cleanlab flags {ov['both']} ({ov['both'] / k:.0%}); chance would give "
          f"{ov['expected']:.1f} (hypergeometric p = {ov['p_value']:.1e}).\n"
          f"- Of the hardest {k}, the out-of-fold prediction differs from the given label for {disagree:.0%}.\n\n"
          f"Given label against prediction among the hardest {k}:\n\n"
          f"{pd.crosstab(top['class'], top['predicted_class']).to_markdown()}\n")
    (out/'summary.md').write_text(md)
    print(f"\n{md}\nwrote {out} in {time.perf_counter() - start:.0f}s")

if __name__ == '__main__': main()
