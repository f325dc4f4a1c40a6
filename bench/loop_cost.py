#!/usr/bin/env python
"""The plain-loop tracker's cost (`learnability_nb.loops.LearnabilityTracker`), measured as bench.py measures the
fastai recorder's (P1, P2): its own time as a share of the fit, every variant side by side in one run.

P1-loop  online: 1 + tracker time (update + end_epoch) / fit time without a tracker      (target <= 1.02)
P2-loop  eval:   eval_epoch time / a plain inference pass over the same batches with the same model, timed right
                 beside it after each epoch (alternating which goes first); the median of the ratios
                 (target <= 1, noise aside)

The loop is a plain PyTorch loop over in-memory tensors (a shuffled permutation per epoch, batches by indexing: no
DataLoader, so that data loading does not dilute the tracker's share). Variants run interleaved, in an order rotated
each round; the tables give medians with min-max over the rounds. Model `resnet20` (width 0.25) on the digits at
32 px, as P1; `--model mlp` times a small MLP, where a training step is so cheap that the tracker's fixed cost per
batch shows most.

    python bench/loop_cost.py                      # resnet20, 2 epochs, 5 rounds (~3 minutes on 2 cores)
    python bench/loop_cost.py --model mlp --rounds 7
"""
from __future__ import annotations
import argparse, os, platform, statistics, time
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch, torch.nn.functional as F
from torch import nn
import learnability_nb
from learnability_nb.loops import LearnabilityTracker
from learnability_nb.models import get_model

def digits_tensors(size:int=32):
    "The digits' training split as (N, 3, size, size) normalised images and labels, as `digits_dls` makes them"
    from learnability_nb.data import digits_dls
    ds = digits_dls(bs=64, size=size, device='cpu').train_ds
    xs, ys = zip(*((x, y) for x, y, *_ in (ds[i] for i in range(len(ds)))))
    return torch.stack([torch.as_tensor(x) for x in xs]).float(), torch.as_tensor([int(y) for y in ys])

def make_model(name, seed):
    torch.manual_seed(seed)
    if name == 'mlp': return nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 64), nn.ReLU(), nn.Linear(64, 10))
    return get_model(name, n_classes=10, width=0.25)

def fit(X, Y, mode:str, model_name:str, n_epochs:int, bs:int=64, seed:int=0) -> dict:
    "One seeded fit with the tracker in `mode` ('off', 'online', 'eval'); seconds of the fit and of the tracker"
    model, n = make_model(model_name, seed), len(X)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    tracker = None if mode == 'off' else LearnabilityTracker(n, mode=mode)
    eval_batches = [(X[s:s + 256], Y[s:s + 256]) for s in range(0, n, 256)]   # the training set in order
    spent, ratios, start = 0., [], time.perf_counter()
    for epoch in range(n_epochs):
        model.train()
        perm = torch.randperm(n)
        for s in range(0, n, bs):
            idx = perm[s:s + bs]
            x, y = X[idx], Y[idx]
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(); loss.backward(); opt.step()
            if mode == 'online':
                t = time.perf_counter(); tracker.update(logits, y, idx); spent += time.perf_counter() - t
        t = time.perf_counter()
        if mode == 'online': tracker.end_epoch(); spent += time.perf_counter() - t
        elif mode == 'eval':   # the eval pass, and beside it the reference: a plain no-grad pass in eval mode
            timed = {}
            for which in (('eval', 'plain') if epoch % 2 == 0 else ('plain', 'eval')):
                t = time.perf_counter()
                if which == 'eval': tracker.eval_epoch(model, eval_batches, device='cpu')
                else: plain_pass(model, eval_batches)
                timed[which] = time.perf_counter() - t
            spent += timed['eval']; ratios.append(timed['eval'] / timed['plain'])
    return dict(fit=time.perf_counter() - start, tracker=spent, epochs=n_epochs, ratios=ratios)

def plain_pass(model, batches):
    "A no-grad pass in eval mode over `batches`, without a tracker (what the eval pass costs at least)"
    model.eval()
    with torch.no_grad():
        for x, _ in batches: model(x)
    model.train()

def interleave(variants:dict, rounds:int) -> dict:
    names, out = list(variants), {k: [] for k in variants}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        t = time.perf_counter()
        for name in order: out[name].append(variants[name]())
        print(f"  round {r + 1}/{rounds}: {time.perf_counter() - t:.1f}s ({' -> '.join(order)})", flush=True)
    return out

def fmt(v, prec=3): return f"{statistics.median(v):.{prec}f} ({min(v):.{prec}f}–{max(v):.{prec}f})s"

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--model', default='resnet20', help="resnet20 (width 0.25, as P1) or mlp")
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--rounds', type=int, default=5)
    a = p.parse_args(argv)
    X, Y = digits_tensors()
    print(f"digits: {len(X)} training images, 3×32×32; model {a.model}; {a.epochs} epochs per fit; bs 64; "
          f"{a.rounds} rounds; torch threads {torch.get_num_threads()}", flush=True)
    res = interleave({m: (lambda m=m: fit(X, Y, m, a.model, a.epochs)) for m in ('off', 'online', 'eval')}, a.rounds)
    col = lambda v, k: [o[k] for o in res[v]]
    fit_off, rec_online = statistics.median(col('off', 'fit')), statistics.median(col('online', 'tracker'))
    ratios = [r for o in res['eval'] for r in o['ratios']]
    lines = [f"| variant | fit time | tracker's own time |", "|---|---|---|"]
    for m in ('off', 'online', 'eval'): lines.append(f"| mode={m} | {fmt(col(m, 'fit'))} | {fmt(col(m, 'tracker'), 4)} |")
    lines += ['', f"- **P1-loop = 1 + tracker time (online) / fit time (off) = 1 + {rec_online:.4f} / {fit_off:.3f} = "
              f"{1 + rec_online / fit_off:.4f}** (target ≤ 1.02: {'PASS' if rec_online / fit_off <= 0.02 else 'FAIL'}).",
              f"- **P2-loop = eval pass (`eval_epoch`) / plain inference pass beside it = {statistics.median(ratios):.3f}** "
              f"(median of {len(ratios)} epochs, {min(ratios):.2f}–{max(ratios):.2f}; target ≤ 1, noise aside). mode=eval's "
              "fit time includes the plain passes.",
              f"- machine: {platform.platform()}, {os.cpu_count()} cores, torch {torch.__version__}, "
              f"learnability_nb {learnability_nb.__version__}; 1-minute load average {os.getloadavg()[0]:.1f} at the end"]
    print('\n'.join(lines))

if __name__ == '__main__': main()
