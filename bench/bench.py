#!/usr/bin/env python
"""Benchmarks for learnability_nb, measured side by side in one run.

P1  online recorder cost vs the same fit with mode="off"          (target <= 1.02)
P2  eval recorder cost vs 1.05 * (1 + r), r = inference pass / epoch (target: within the bound)
    P1 and P2 are measured on the package's fast in-memory path and again on a stock fastai pipeline
    (`ImageDataLoaders.from_folder` over the digits as PNG files: PIL decoding per item in fastai's TfmdDL), where
    the recorder finds each sample from the loader's order (`tap_order`, `LoaderOrder`) instead of from the batch
P4  fast data path (learnability_nb.fastdata) vs the plain fastai DataLoader path, epoch throughput (target >= 2)
Syncs: host syncs per training batch of fastai's usual loop and of LeanFit (counted, not timed)
P3  (--p3) wall time of the default `learnability_run`               (target <= 600 s on the 2-core CI machine)
GPU (--gpu) images/s of resnet20, vgg16, mobilenet on CIFAR-10-shaped data (fast path + eval recorder + bf16) and
    the projected time of 3 x 200 epochs; `--gpu --smoke` runs it with tiny sizes on a CPU.

Timings on a shared machine are noisy, so every comparison is interleaved: each round runs every variant once, in
an order rotated from round to round, and the tables give medians with min-max over the rounds.

    python bench/bench.py                              # P1, P2 (fast path and stock ImageDataLoaders), P4 (~10 minutes on 2 cores)
    python bench/bench.py --no-stock                   # ... without the stock ImageDataLoaders section
    python bench/bench.py --stock-only                 # only P1, P2 on the stock ImageDataLoaders pipeline
    python bench/bench.py --write bench/RESULTS.md     # ... and write the results as markdown
    python bench/bench.py --p3                         # also time the default `learnability_run`
    python bench/bench.py --gpu                        # GPU benchmark only (needs CUDA; add --smoke to try on CPU)
"""
from __future__ import annotations
import argparse, contextlib, datetime, io, os, platform, shlex, shutil, statistics, subprocess, sys, tempfile, time, warnings
from collections import Counter
from functools import partial
from pathlib import Path
warnings.filterwarnings("ignore", message=".*torch.jit.script.*deprecated")
# On a shared machine, OpenMP threads that spin while waiting slow everything down many times over when another
# process wants the same cores; passive waiting costs nothing measurable on an idle machine. Set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np
import torch
import fastai
from fastai.basics import Learner, CrossEntropyLossFlat, accuracy, set_seed
from fastai.callback.core import Callback, event
from fastai.callback.schedule import fit_one_cycle  # noqa: F401 (patches Learner)
from fastai.callback.channelslast import ChannelsLast
from fastai.callback.fp16 import to_bf16  # noqa: F401 (patches Learner)
from fastai.vision.core import cifar_stats
from fastai.vision.data import ImageDataLoaders
from fastai.vision.augment import Resize
from torchvision.transforms import v2
import learnability_nb
import learnability_nb.callback as _lcb
from learnability_nb.data import ImageTensorDataset, digits_dls, dls_from_datasets, train_eval_dl
from learnability_nb.fastdata import fast_dls, fast_dls_from_tensors
from learnability_nb.callback import HostSyncCounter, LeanFit, LearnabilityRecorder
from learnability_nb.test_utils import tiny_cnn
from learnability_nb.fit import fused_adamw
from learnability_nb.models import get_model
from learnability_nb.test_utils import digits_png_folder

# ---------------------------------------------------------------------------------------------------------------
# measuring

def _sync(device):
    "Wait for the device (CUDA is asynchronous; the CPU is not)"
    if torch.device(device).type == 'cuda': torch.cuda.synchronize()

class FitTimer(Callback):
    "Wall time of a fit, of its epochs and of its training phases, and the number of images trained on"
    order = 100  # last: an epoch's time includes every other callback (the recorder's eval pass too)
    def __init__(self, device='cpu'): self.dev = device
    def before_fit(self):
        _sync(self.dev); self.t_fit, self.train_s, self.n_train, self.epoch_s = time.perf_counter(), 0., 0, []
    def before_epoch(self): _sync(self.dev); self.t_epoch = time.perf_counter()
    def before_train(self): _sync(self.dev); self.t_train = time.perf_counter()
    def after_batch(self):
        if self.learn.training: self.n_train += len(self.learn.xb[0])
    def after_train(self): _sync(self.dev); self.train_s += time.perf_counter() - self.t_train
    def after_epoch(self): _sync(self.dev); self.epoch_s.append(time.perf_counter() - self.t_epoch)
    def after_fit(self): _sync(self.dev); self.fit_s = time.perf_counter() - self.t_fit

_OrderTap = getattr(_lcb, '_OrderTap', None)   # what `tap_order` puts in place of a loader's `get_idxs`

if _OrderTap is not None:
    class _TimedOrderTap(_OrderTap):
        "An `_OrderTap` that adds its own time (its call less the loader's own `get_idxs`) to `spent`"
        def __call__(self):
            start, inner, t_inner = time.perf_counter(), self.get_idxs, 0.
            def timed_inner():
                nonlocal t_inner
                t0 = time.perf_counter()
                try: return inner()
                finally: t_inner += time.perf_counter() - t0
            self.get_idxs = timed_inner
            try: return super().__call__()
            finally:
                self.get_idxs = inner
                own = time.perf_counter() - start - t_inner
                self._spent['seconds'] += own; self._spent['tap'] += own

def _time_taps(rec:Callback, spent:dict):
    "Make the order taps the recorder has put on the learner's loaders count their own time in `spent`"
    learn = getattr(rec, 'learn', None)
    if _OrderTap is None or learn is None or getattr(learn, 'dls', None) is None: return
    for dl in getattr(learn.dls, 'loaders', ()):
        tap = getattr(dl, '__dict__', {}).get('get_idxs')
        if type(tap) is _OrderTap: tap.__class__, tap._spent = _TimedOrderTap, spent

def instrument(rec:Callback) -> dict:
    """Time every event method `rec` defines with `perf_counter` (exact on a CPU); returns {'seconds': total so far,
    'tap': the part of it spent in the order taps}. The event methods hold the recorder's work (taking the index off
    a batch or handing out positions with `LoaderOrder`, recording, the eval pass with its own `tap_order`, the copy
    at the end of an epoch); the one piece that runs outside them is the tap `tap_order` puts on the training loader
    in `before_train`, which the loader calls when it starts a pass: it is timed too (its call less the loader's own
    `get_idxs`, which mode='off' runs as well)."""
    spent = {'seconds': 0., 'tap': 0.}
    for name in (n for n in dir(event) if not n.startswith('_')):
        if getattr(type(rec), name, None) is getattr(Callback, name, None): continue
        def timed(f=getattr(rec, name), taps=name == 'before_train'):
            start = time.perf_counter()
            try: return f()
            finally:
                spent['seconds'] += time.perf_counter() - start
                if taps: _time_taps(rec, spent)   # the tap goes on in `before_train`: not a loop over the loaders per batch
        rec.__dict__[name] = timed   # the instance attribute is what fastai's Callback.__call__ finds
    return spent

def interleave(variants:dict, rounds:int, log=print) -> dict:
    "Run every variant once per round, in an order rotated each round; {name: [result of each round]}"
    names, out = list(variants), {k: [] for k in variants}
    for r in range(rounds):
        order = names[r % len(names):] + names[:r % len(names)]
        start = time.perf_counter()
        for name in order: out[name].append(variants[name]())
        log(f"  round {r + 1}/{rounds}: {time.perf_counter() - start:.1f}s ({' -> '.join(order)})")
    return out

def stat(values) -> tuple: return statistics.median(values), min(values), max(values)
def fmt(values, unit='s', prec=3) -> str:
    med, lo, hi = stat(values)
    return f"{med:.{prec}f} ({lo:.{prec}f}–{hi:.{prec}f}){unit}"

# ---------------------------------------------------------------------------------------------------------------
# data

def cifar_like(n:int, n_valid:int, seed:int=0):
    "Random uint8 images shaped like CIFAR-10 and random labels"
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (n + n_valid, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (n + n_valid,), generator=g)
    return x[:n], y[:n], x[n:], y[n:]

def plain_cifar_dls(x, y, xv, yv, bs):
    "The plain path as `cifar10_dls` builds it: per-image crop + flip + scale + normalise in a fastai DataLoader"
    norm = [v2.ToDtype(torch.float32, scale=True), v2.Normalize(*cifar_stats)]
    aug = [v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip()]
    return dls_from_datasets(ImageTensorDataset(x, y, v2.Compose(aug + norm)), ImageTensorDataset(xv, yv, v2.Compose(norm)),
                             ImageTensorDataset(x, y, v2.Compose(norm)), bs=bs, device='cpu', name='cifar-like',
                             vocab=[str(i) for i in range(10)], stats=tuple(torch.tensor(s) for s in cifar_stats))

# ---------------------------------------------------------------------------------------------------------------
# variants

def fit_once(dls, model_fn, mode='off', n_epoch=1, lr=1e-2, seed=0, timed_recorder=False):
    "One seeded `fit_one_cycle` with a recorder in `mode`; a dict of timings"
    set_seed(seed)
    rec, timer = LearnabilityRecorder(mode), FitTimer()
    spent = instrument(rec) if timed_recorder else None
    learn = Learner(dls, model_fn(), loss_func=CrossEntropyLossFlat(), cbs=[rec, timer])
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n_epoch, lr)
    res = dict(fit=timer.fit_s, epoch=timer.fit_s / n_epoch, train=timer.train_s, n_train=timer.n_train,
               img_s=timer.n_train / timer.train_s, eval_pass=rec.eval_seconds / n_epoch)
    if spent is not None: res['recorder'], res['tap'] = spent['seconds'], spent['tap']
    return res

def infer_once(dls, model_fn, seed=0, dl=None):
    "One no-grad eval-mode pass over the training set (`dl`, default dls[2]) without a recorder: the `r` of P2"
    set_seed(seed)
    model = model_fn().eval()
    start = time.perf_counter()
    with torch.no_grad():
        for x, *_ in (dls[2] if dl is None else dl): model(x)
    return dict(seconds=time.perf_counter() - start)

def load_once(dl):
    "Iterate one epoch of a loader, no model: images/s of the data path alone"
    start, n = time.perf_counter(), 0
    for x, *_ in dl: n += len(x)
    return dict(img_s=n / (time.perf_counter() - start))

# ---------------------------------------------------------------------------------------------------------------
# P1, P2, P4

def say_p1_p2(res:dict, say, title:str, setting:str, index_note:str) -> dict:
    "The P1/P2 table and lines from the rounds of 'off', 'online', 'eval' (`fit_once`) and 'infer' (`infer_once`)"
    col = lambda v, k: [o[k] for o in res[v]]
    fit_off, fit_online, fit_eval = (statistics.median(col(v, 'fit')) for v in ('off', 'online', 'eval'))
    rec_online = statistics.median(col('online', 'recorder'))
    p1 = 1 + rec_online / fit_off
    epoch_off, epoch_eval = statistics.median(col('off', 'epoch')), statistics.median(col('eval', 'epoch'))
    infer = statistics.median(col('infer', 'seconds'))
    r = infer / epoch_off
    bound, p2 = 1.05 * (1 + r), epoch_eval / epoch_off

    say(title)
    say()
    say(setting)
    say()
    say("| variant | fit time | recorder's own time | eval pass (recorder) |")
    say("|---|---|---|---|")
    for v in ('off', 'online', 'eval'):
        say(f"| mode={v} | {fmt(col(v, 'fit'))} | {fmt(col(v, 'recorder'), prec=4)} | {fmt(col(v, 'eval_pass'))} |")
    say(f"| inference pass over the training set (no recorder) | {fmt(col('infer', 'seconds'))} | | |")
    say()
    say(f"- **P1 = 1 + recorder time (online) / fit time (off) = 1 + {rec_online:.4f} / {fit_off:.3f} = {p1:.4f}** "
        f"(target ≤ 1.02: {'PASS' if p1 <= 1.02 else 'FAIL'}). {index_note} "
        f"({statistics.median(col('off', 'recorder')):.4f}s). "
        f"For context, the naive ratio of median fit times online/off = {fit_online / fit_off:.3f}.")
    say(f"- **P2 = epoch time (eval) / epoch time (off) = {epoch_eval:.3f} / {epoch_off:.3f} = {p2:.3f}**; "
        f"r = inference pass / epoch (off) = {infer:.3f} / {epoch_off:.3f} = {r:.3f}; bound 1.05 × (1 + r) = {bound:.3f} "
        f"({'PASS' if p2 <= bound else 'FAIL'}).")
    say()
    return dict(p1=p1, p2=p2, r=r, bound=bound)

def stock_dls(folder, bs=64):
    "The stock fastai pipeline: `ImageDataLoaders.from_folder` (PIL decoding per item in fastai's TfmdDL), on the CPU"
    return ImageDataLoaders.from_folder(folder, valid_pct=0.2, seed=0, item_tfms=Resize(32), bs=bs, num_workers=0, device='cpu')

def bench_stock(args, log=print) -> list:
    "P1 and P2 on a stock `ImageDataLoaders` pipeline over the digits as PNG files; returns the lines of the report"
    lines, say = [], (lambda s='': (lines.append(s), log(s)))
    width, bs = args.width, args.bs
    r20 = partial(get_model, 'resnet20', n_classes=10, width=width)
    with tempfile.TemporaryDirectory(prefix='bench_digits_png_') as tmp:
        folder = digits_png_folder(Path(tmp) / 'digits', n_per_class=20 if getattr(args, 'smoke', False) else None)
        sdls = stock_dls(folder, bs=bs)
        edl = train_eval_dl(sdls)   # what the recorder's eval pass iterates: the training items, validation transforms
        assert not _lcb.reads_index_from_batch(sdls.train) and len(edl.dataset) == len(sdls.train_ds)
        n_img = sum(1 for _ in folder.rglob('*.png'))
        log(f"P1/P2 stock: digits as {n_img} PNG files, ImageDataLoaders.from_folder ({len(sdls.train_ds)} train items, "
            f"Resize(32)), resnet20 width {width}, bs {bs}, {args.epochs} epoch(s) per fit, {args.rounds} rounds")
        fit = partial(fit_once, model_fn=r20, n_epoch=args.epochs, timed_recorder=True)
        res = interleave({'off': partial(fit, sdls, mode='off'), 'online': partial(fit, sdls, mode='online'),
                          'eval': partial(fit, sdls, mode='eval'), 'infer': partial(infer_once, sdls, r20, dl=edl)},
                         args.rounds, log)
        tap = statistics.median(o['tap'] for o in res['online'])
        say_p1_p2(res, say, "### P1, P2 on a stock `ImageDataLoaders` pipeline",
                  f"The same measurement on fastai's own data path: scikit-learn's digits written as {n_img} 8×8 grey PNG "
                  f"files (`digits_png_folder`), `ImageDataLoaders.from_folder(folder, valid_pct=0.2, seed=0, "
                  f"item_tfms=Resize(32), bs={bs}, num_workers=0)` ({len(sdls.train_ds)} training items, each decoded with "
                  f"PIL every time it is drawn, fastai's `TfmdDL`), `resnet20(width={width})`, `fit_one_cycle({args.epochs})`, "
                  f"{args.rounds} interleaved rounds; median (min–max). The recorder finds each sample from the training "
                  f"loader's order (`tap_order` + `LoaderOrder`); its eval pass and the inference pass of r iterate "
                  f"`train_eval_dl(dls)` (= `dls.test_dl(train items, rm_type_tfms=0, with_labels=True)`).",
                  f"The recorder's time includes building `train_eval_dl(dls)` and checking one batch of it before the "
                  f"first epoch, tapping the training loader's order (of which the tap itself: {tap * 1e3:.3f} ms) and handing "
                  f"out positions with `LoaderOrder`; with mode='off' it only looks at each batch")
    return lines

def bench_cpu(args, log=print) -> list:
    "P1, P2 and P4; returns the lines of the report"
    lines, say = [], (lambda s='': (lines.append(s), log(s)))
    width, bs = args.width, args.bs
    r20 = partial(get_model, 'resnet20', n_classes=10, width=width)
    small = partial(tiny_cnn, width=8)
    linear = lambda: torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 32 * 32, 10))
    dd, fdd = digits_dls(bs=bs, size=32, device='cpu'), None
    fdd = fast_dls(dd)

    # --- P1 and P2: the default preset's setting (digits 32 px, resnet20 at width `width`, bs 64) on the fast path
    log(f"P1/P2: digits ({len(dd.train_ds)} train images, 32 px), resnet20 width {width}, bs {bs}, "
        f"{args.epochs} epoch(s) per fit, {args.rounds} rounds")
    fit = partial(fit_once, model_fn=r20, n_epoch=args.epochs, timed_recorder=True)
    res = interleave({'off': partial(fit, fdd, mode='off'), 'online': partial(fit, fdd, mode='online'),
                      'eval': partial(fit, fdd, mode='eval'), 'infer': partial(infer_once, fdd, r20),
                      'off-plain': partial(fit, dd, mode='off')}, args.rounds, log)
    say_p1_p2(res, say, "### P1, P2: recorder cost",
              f"digits ({len(dd.train_ds)} training images, 32×32), `resnet20(width={width})`, bs {bs}, fast data path, "
              f"`fit_one_cycle({args.epochs})`, {args.rounds} interleaved rounds; median (min–max).",
              "The recorder's time includes taking the index off each batch, which mode='off' does too")

    # --- P1 and P2 again on a stock fastai pipeline (the recorder reads the loader's order)
    if getattr(args, 'stock', True): lines.extend(bench_stock(args, log))

    # --- P4: fast path vs plain fastai DataLoader path
    log(f"P4: CIFAR-shaped synthetic uint8 ({args.n_cifar} and {args.n_cifar_r20} images, augmented) and digits, bs {args.bs_p4}")
    x, y, xv, yv = cifar_like(args.n_cifar, args.n_cifar // 10)
    pc = plain_cifar_dls(x, y, xv, yv, args.bs_p4); fc = fast_dls(pc)
    x2, y2, xv2, yv2 = cifar_like(args.n_cifar_r20, args.n_cifar_r20 // 10, seed=1)
    pc2 = plain_cifar_dls(x2, y2, xv2, yv2, args.bs_p4); fc2 = fast_dls(pc2)
    dd4 = digits_dls(bs=args.bs_p4, size=32, device='cpu'); fdd4 = fast_dls(dd4)
    assert fc.train.augment and fc2.train.augment
    fit1 = partial(fit_once, mode='off', n_epoch=1)
    variants = {
        'cifar loader plain': partial(load_once, pc.train), 'cifar loader fast': partial(load_once, fc.train),
        'cifar linear plain': partial(fit1, pc, linear), 'cifar linear fast': partial(fit1, fc, linear),
        'cifar tiny_cnn plain': partial(fit1, pc, small), 'cifar tiny_cnn fast': partial(fit1, fc, small),
        'cifar resnet20 plain': partial(fit1, pc2, r20), 'cifar resnet20 fast': partial(fit1, fc2, r20),
        'digits loader plain': partial(load_once, dd4.train), 'digits loader fast': partial(load_once, fdd4.train),
        'digits linear plain': partial(fit1, dd4, linear), 'digits linear fast': partial(fit1, fdd4, linear),
        'digits tiny_cnn plain': partial(fit1, dd4, small), 'digits tiny_cnn fast': partial(fit1, fdd4, small)}
    res4 = interleave(variants, args.rounds, log)
    res4['digits resnet20 plain'], res4['digits resnet20 fast'] = res['off-plain'], res['off']   # from P1/P2's fits

    say("### P4: fast data path vs plain fastai DataLoader")
    say()
    say(f"Training-phase throughput of one epoch (`fit_one_cycle(1)`, recorder mode='off'; images trained on / time of "
        f"the training phase) and, for the loaders alone, one epoch of `dls.train` without a model. Same model, batch "
        f"size and seed on both paths. CIFAR-shaped: random uint8 3×32×32 with crop (padding 4) + flip augmentation "
        f"({args.n_cifar} images; {args.n_cifar_r20} for resnet20); digits: 1437 images, 32×32. bs {args.bs_p4} "
        f"(digits+resnet20: bs {bs}, from the P1/P2 fits). Median (min–max) images/s over {args.rounds} rounds.")
    say()
    say("| data | model | plain (img/s) | fast (img/s) | ratio fast/plain |")
    say("|---|---|---|---|---|")
    p4 = {}
    for data in ('cifar', 'digits'):
        for model, label in (('loader', 'none (loader only)'), ('linear', 'linear (flatten + Linear)'), ('tiny_cnn', 'tiny_cnn(width=8)'), ('resnet20', f'resnet20(width={width})')):
            plain, fast = (col_ for col_ in ([o['img_s'] for o in res4[f'{data} {model} {p}']] for p in ('plain', 'fast')))
            p4[data, model] = ratio = statistics.median(fast) / statistics.median(plain)
            say(f"| {'CIFAR-shaped' if data == 'cifar' else 'digits'} | {label} | {fmt(plain, '', 0)} | {fmt(fast, '', 0)} | **{ratio:.2f}×** |")
    say()
    ok = [k for k, v in p4.items() if v >= 2]
    say(f"- **P4** (target ≥ 2×): met for {', '.join(f'{d} + {m}' for d, m in ok) or 'none'}; "
        f"not met for {', '.join(f'{d} + {m}' for d, m in p4 if (d, m) not in ok) or 'none'}.")
    say()
    return lines

# ---------------------------------------------------------------------------------------------------------------
# P3

def bench_p3(log=print) -> list:
    "Wall time of the default `learnability_run` in a temporary folder"
    exe = Path(sys.executable).parent / 'learnability_run'
    cmd = [str(exe) if exe.exists() else (shutil.which('learnability_run') or 'learnability_run')]
    with tempfile.TemporaryDirectory() as tmp:
        cmd += ['--out', str(Path(tmp) / 'out'), '--no_progress']
        log(f"P3: {' '.join(cmd)}")
        start = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        secs = time.perf_counter() - start
    if proc.returncode: log(proc.stdout[-2000:] + proc.stderr[-2000:])
    status = 'FAILED (exit %d)' % proc.returncode if proc.returncode else ('PASS' if secs <= 600 else 'FAIL')
    return ["### P3: default `learnability_run`", "",
            f"- **P3 = {secs:.0f} s** for `learnability_run --out <tmp> --no_progress` (target ≤ 600 s: {status})", ""]

# ---------------------------------------------------------------------------------------------------------------
# host syncs

class _PhaseSyncs(Callback):
    "Split a `HostSyncCounter`'s counts by phase: training and validation (each phase's callbacks included)"
    order = 100
    def __init__(self, hs): self.hs, self.n = hs, {'train': Counter(), 'valid': Counter()}
    def _snap(self): return Counter(self.hs.calls), Counter(self.hs.sites)
    def before_train(self): self._t0 = self._snap()
    def after_train(self): self._add('train', self._t0)
    def before_validate(self): self._v0 = self._snap()
    def after_validate(self): self._add('valid', self._v0)
    def _add(self, phase, start):
        calls, sites = self._snap()
        sched = sum(v for k, v in (sites - start[1]).items() if k.startswith('callback/schedule.py'))
        self.n[phase]['device'] += sum((calls - start[0]).values()) - sched
        self.n[phase]['schedule'] += sched

def count_syncs(dls, model_fn, lean, one_cycle):
    "Syncing tensor calls per phase of a 1-epoch fit as the runner makes it (eval recorder, accuracy), and the batches"
    set_seed(0)
    hs = HostSyncCounter()
    phases = _PhaseSyncs(hs)
    learn = Learner(dls, model_fn(), loss_func=CrossEntropyLossFlat(), metrics=accuracy,
                    cbs=[LearnabilityRecorder('eval'), phases] + ([LeanFit()] if lean else []))
    with learn.no_logging(), contextlib.redirect_stdout(io.StringIO()), hs:  # with the progress bar
        if one_cycle: learn.fit_one_cycle(1, 1e-2)
        else: learn.fit(1, 1e-2)
    return phases.n, {'train': len(dls.train), 'valid': len(dls.valid)}

def bench_syncs(args, log=print) -> list:
    "Host syncs per batch, fastai's usual loop vs LeanFit: counted, not timed (the same on any machine)"
    model_fn = partial(get_model, 'resnet20', n_classes=10, width=args.width)
    size = 8 if getattr(args, 'smoke', False) else 32
    lines, say = [], (lambda s='': (lines.append(s), log(s)))
    say("### Host syncs per batch")
    say()
    say(f"Calls that make the host wait for a GPU (`item`, `cpu`, `bool(t)`, `f'{{t}}'`, ...), counted with "
        f"`HostSyncCounter` in 1-epoch fits on digits ({size} px, fast path, `resnet20(width={args.width})`, eval "
        f"recorder, `accuracy`, progress bar on) at bs 64 and at bs 16; per batch = difference of a phase's counts / "
        f"difference of its batches, so what happens once per epoch (the recorder's one copy, the epoch's log) "
        f"drops out. `fit_one_cycle` adds calls of fastai's `ParamScheduler` (`callback/schedule.py`) on small CPU "
        f"tensors of its own, which wait for no device: counted apart.")
    say()
    say("| loop | schedule | syncs per training batch | syncs per validation batch | `ParamScheduler` per training batch (CPU tensors) |")
    say("|---|---|---|---|---|")
    for one_cycle in (False, True):
        for lean in (False, True):
            (n1, b1), (n2, b2) = (count_syncs(fast_dls(digits_dls(bs=bs, size=size, device='cpu')), model_fn, lean, one_cycle)
                                  for bs in (64, 16))
            per = lambda ph, k: (n2[ph][k] - n1[ph][k]) / (b2[ph] - b1[ph])
            say(f"| {'LeanFit' if lean else 'fastai usual'} | {'fit_one_cycle' if one_cycle else 'fit'} | "
                f"**{per('train', 'device'):.2f}** | **{per('valid', 'device'):.2f}** | {per('train', 'schedule'):.2f} |")
    say()
    return lines

# ---------------------------------------------------------------------------------------------------------------
# GPU

def bench_gpu(args, log=print) -> list:
    "Images/s of the three models on CIFAR-10-shaped data, fast path + eval recorder (+ bf16, channels_last on CUDA)"
    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke: raise SystemExit("--gpu needs a CUDA device; add --smoke to try the code path on a CPU with tiny sizes")
    device = 'cuda' if cuda else 'cpu'
    if cuda: torch.backends.cudnn.benchmark = True
    n, n_valid, n_epoch, width = (args.gpu_n, 10_000, args.gpu_epochs, 1.0) if not args.smoke else (512, 128, 2, 0.125)
    bs, eval_bs = args.gpu_bs, args.gpu_eval_bs or 8 * args.gpu_bs
    x, y, xv, yv = cifar_like(n, n_valid)
    dls = fast_dls_from_tensors(x, y, xv, yv, bs=bs, augment=True, stats=cifar_stats, device=device, name='cifar-like',
                                channels_last=args.channels_last)
    bf16 = cuda and not args.no_bf16
    opt_func = fused_adamw if args.fused else None   # (PyTorch has a fused AdamW on the CPU too: --smoke runs it)
    say_lines = []
    say = lambda s='': (say_lines.append(s), log(s))
    say("### GPU: three models, fast path + eval recorder")
    say()
    dev_name = torch.cuda.get_device_name() if cuda else f"CPU ({platform.processor() or platform.machine()}, smoke test)"
    say(f"{dev_name}; {n} CIFAR-shaped uint8 images on the device (+{n_valid} valid), augmented (crop + flip on the device), "
        f"bs {bs}, eval pass bs {eval_bs}, width {width}, {'bf16 autocast' if bf16 else 'fp32'}, "
        f"{'channels_last, ' if args.channels_last else ''}{'fused AdamW, ' if opt_func else ''}{'LeanFit, ' if args.lean else ''}{n_epoch} epochs per model "
        f"(the first is warm-up; times are the median of the others).")
    say()
    say("| model | epoch (s) | train phase img/s | eval pass (s) | epoch img/s | projected 200 epochs |")
    say("|---|---|---|---|---|---|")
    total = 0.
    for name in ('resnet20', 'vgg16', 'mobilenet'):
        set_seed(0)
        rec = LearnabilityRecorder('eval', eval_dl=dls[2].new(bs=eval_bs))
        timer = FitTimer(device)
        cbs = [rec, timer] + ([ChannelsLast()] if args.channels_last else []) + ([LeanFit()] if args.lean else [])
        kw = dict(opt_func=opt_func) if opt_func else {}
        learn = Learner(dls, get_model(name, n_classes=10, width=width), loss_func=CrossEntropyLossFlat(), cbs=cbs, **kw)
        if bf16: learn.to_bf16()
        train_s = []
        class _TrainTimes(Callback):
            order = 101
            def after_epoch(self): train_s.append(timer.train_s - sum(train_s))
        with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n_epoch, 1e-2, cbs=_TrainTimes())
        later = timer.epoch_s[1:] or timer.epoch_s
        epoch = statistics.median(later)
        train = statistics.median(train_s[1:] or train_s)
        eval_pass = rec.eval_seconds / n_epoch
        proj = 200 * epoch
        total += proj
        assert rec.probs.shape == (n_epoch, n) and not np.isnan(rec.probs).any()
        n_trained = len(dls.train) * bs
        say(f"| {name} | {epoch:.2f} | {n_trained / train:,.0f} | {eval_pass:.2f} | {n / epoch:,.0f} | {proj / 60:.1f} min |")
    say()
    say(f"- **Projected 3 models × 200 epochs: {total / 60:.1f} min** (P5 target ≤ 10 min"
        f"{'' if cuda and not args.smoke else '; smoke sizes, not a measurement'}).")
    say()
    return say_lines

# ---------------------------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f: cpu = next(l.split(':', 1)[1].strip() for l in f if l.startswith('model name'))
    except (OSError, StopIteration): pass
    gpu = f", GPU {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ", no GPU"
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} cores (torch threads {torch.get_num_threads()}){gpu}; "
            f"Python {platform.python_version()}, torch {torch.__version__}, fastai {fastai.__version__}, "
            f"learnability_nb {learnability_nb.__version__}; OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--rounds', type=int, default=5, help='interleaved rounds (each runs every variant once)')
    p.add_argument('--epochs', type=int, default=2, help='epochs per fit for P1/P2')
    p.add_argument('--width', type=float, default=0.25, help="resnet20's width (the default preset's)")
    p.add_argument('--bs', type=int, default=64, help="batch size for P1/P2 (the default preset's)")
    p.add_argument('--bs-p4', type=int, default=128, help='batch size for P4')
    p.add_argument('--n-cifar', type=int, default=10_000, help='CIFAR-shaped images for the P4 loader and tiny_cnn rows')
    p.add_argument('--n-cifar-r20', type=int, default=2_560, help='CIFAR-shaped images for the P4 resnet20 row')
    p.add_argument('--threads', type=int, default=os.cpu_count(), help='torch.set_num_threads')
    p.add_argument('--stock', action=argparse.BooleanOptionalAction, default=True,
                   help='also measure P1, P2 on a stock ImageDataLoaders pipeline (digits as PNG files)')
    p.add_argument('--stock-only', action='store_true', help='measure only P1, P2 on the stock ImageDataLoaders pipeline')
    p.add_argument('--p3', action='store_true', help='also time the default learnability_run')
    p.add_argument('--gpu', action='store_true', help='run the GPU benchmark (only)')
    p.add_argument('--smoke', action='store_true', help='tiny sizes (to check the code paths, e.g. --gpu on a CPU)')
    p.add_argument('--gpu-n', type=int, default=50_000, help='training images for --gpu')
    p.add_argument('--gpu-epochs', type=int, default=3, help='epochs per model for --gpu')
    p.add_argument('--gpu-bs', type=int, default=128, help="batch size for --gpu (the paper preset's)")
    p.add_argument('--gpu-eval-bs', type=int, default=None, help="batch size of the recorder's eval pass for --gpu (default: 8 × --gpu-bs, as the runner on a GPU)")
    p.add_argument('--channels-last', action=argparse.BooleanOptionalAction, default=True, help='channels_last for --gpu')
    p.add_argument('--no-bf16', action='store_true', help='fp32 instead of bf16 autocast for --gpu')
    p.add_argument('--fused', action=argparse.BooleanOptionalAction, default=True, help='fused AdamW for --gpu')
    p.add_argument('--lean', action=argparse.BooleanOptionalAction, default=True, help='LeanFit (no host sync per batch) for --gpu')
    p.add_argument('--write', default=None, help='write the results as markdown to this file')
    p.add_argument('--note', default=None, help='a line about the conditions of the run, for --write')
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.smoke and not args.gpu:
        args.rounds, args.n_cifar, args.n_cifar_r20 = min(args.rounds, 2), 1_024, 256
    start, load0 = time.perf_counter(), os.getloadavg()[0]
    print(machine())
    lines = []
    if args.gpu: lines += bench_gpu(args)
    elif args.stock_only: lines += bench_stock(args)
    else:
        lines += bench_cpu(args)
        lines += bench_syncs(args)
        if args.p3: lines += bench_p3()
    secs = time.perf_counter() - start
    load = f"1-minute load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at the end ({os.cpu_count()} cores)"
    print(f"benchmark took {secs:.0f}s; {load}")
    if args.write:
        cmd = shlex.join(['python', 'bench/bench.py', *(sys.argv[1:] if argv is None else argv)])
        head = [f"# Benchmark results", "", f"- date: {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}",
                f"- machine: {machine()}", f"- command: `{cmd.strip()}` ({secs:.0f} s)", f"- {load}"] + ([f"- note: {args.note}"] if args.note else []) + [""]
        Path(args.write).write_text('\n'.join(head + lines) + '\n')
        print(f"wrote {args.write}")

if __name__ == '__main__': main()
