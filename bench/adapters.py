#!/usr/bin/env python
"""The cost of the Lightning and Hugging Face callbacks (issue 28), measured side by side in one run.

For each framework: the same seeded fit without the callback, with it online and with it in eval mode, in rounds whose order rotates, plus one inference pass over
the training set alone, timed right after each eval-mode fit with the model it trained. Each callback times its own hooks (`seconds`; the eval passes also in `eval_seconds`), so:

    P1 (online) = 1 + callback's own time (online) / fit time (no callback)           target <= 1.02
    P2 (eval)   = eval pass per epoch / one inference pass over the training set      target <= 1 (+ noise)

Lightning: scikit-learn's digits (1437 training images, upsampled to 32x32), `resnet20(width=0.25)`, bs 64, 2 epochs,
SGD. Hugging Face: the toy text task of `02f_hf` (2000 sequences of 12 token ids), a one-layer BERT built from a
config, bs 32, 2 epochs. CPU only.

    python bench/adapters.py                          # print the table (~5 minutes on 2 cores)
    python bench/adapters.py --write bench/RESULTS.md --rounds 3   # ... and append it there as a section
"""
from __future__ import annotations
import argparse, logging, os, statistics, tempfile, time, warnings
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, TensorDataset
warnings.filterwarnings('ignore', '.*(does not have many workers|LeafSpec|torch.jit.script).*')


def digits(n_up=32):
    "Digits' training split as (N, 1, 32, 32) float images and labels"
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x_train, _, y_train, _ = train_test_split(d.images, d.target, test_size=0.2, random_state=0, stratify=d.target)
    x = F.interpolate(torch.tensor(x_train, dtype=torch.float32)[:, None] / 16, size=n_up, mode='bilinear')
    return (x - x.mean()) / x.std(), torch.tensor(y_train, dtype=torch.long)


def lightning_fit(variant, x, y, epochs=2, seed=0):
    "(fit seconds, callback's own seconds, eval pass seconds) of one Lightning fit"
    import lightning.pytorch as pl
    from learnability_nb.indexed import IndexedDataset
    from learnability_nb.lightning import LearnabilityCallback
    from learnability_nb.models import resnet20

    class Module(pl.LightningModule):
        def __init__(self): super().__init__(); self.model = resnet20(10, in_channels=1, width=0.25)
        def forward(self, x): return self.model(x)
        def training_step(self, batch, batch_idx): return F.cross_entropy(self(batch[0]), batch[1])
        def configure_optimizers(self): return torch.optim.SGD(self.parameters(), lr=0.05, momentum=0.9)

    torch.manual_seed(seed)
    cb = None if variant == 'none' else LearnabilityCallback(mode=variant)
    ds = IndexedDataset(TensorDataset(x, y)) if variant == 'online' else TensorDataset(x, y)
    trainer = pl.Trainer(max_epochs=epochs, accelerator='cpu', devices=1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[cb] if cb else [])
    model = Module()
    start = time.perf_counter()
    trainer.fit(model, DataLoader(ds, batch_size=64, shuffle=True))
    fit_s = time.perf_counter() - start
    return fit_s, (cb.seconds if cb else 0.), (cb.eval_seconds if cb else 0.), model


def lightning_inference(model, x, y):
    "Seconds of one no-grad eval-mode pass over the training set, no callback"
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        for xb, _ in DataLoader(TensorDataset(x, y), batch_size=64): model(xb)
    return time.perf_counter() - start


class TextDataset(Dataset):
    def __init__(self, ids, labels): self.ids, self.labels = ids, labels
    def __len__(self): return len(self.ids)
    def __getitem__(self, i):
        return dict(input_ids=self.ids[i], attention_mask=torch.ones_like(self.ids[i]), labels=self.labels[i])


class IndexedText(TextDataset):
    def __getitem__(self, i): return {**super().__getitem__(i), 'idx': i}


def toy_text(n=2000, length=12, vocab=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab, (n, length), generator=g)
    ids[:, 0] = 2
    return TextDataset(ids, (((ids >= 15) & (ids < 25)).sum(1) > ((ids >= 5) & (ids < 15)).sum(1)).long())


def hf_fit(variant, ds, epochs=2, seed=0):
    "(fit seconds, callback's own seconds, eval pass seconds, trainer) of one Trainer fit"
    from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments
    from learnability_nb.hf import LearnabilityCallback
    torch.manual_seed(seed)
    model = BertForSequenceClassification(BertConfig(
        vocab_size=40, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=16, num_labels=2))
    args = TrainingArguments(output_dir=tempfile.mkdtemp(), num_train_epochs=epochs, per_device_train_batch_size=32,
                             per_device_eval_batch_size=32, learning_rate=2e-3, report_to=[], save_strategy='no',
                             logging_strategy='no', disable_tqdm=True, seed=seed, use_cpu=True,
                             remove_unused_columns=variant != 'online')   # online: the idx column reaches the model
    if variant == 'online': ds = IndexedText(ds.ids, ds.labels)
    cb = None if variant == 'none' else LearnabilityCallback(mode=variant)
    trainer = Trainer(model=model, args=args, train_dataset=ds, callbacks=[cb] if cb else [])
    start = time.perf_counter()
    trainer.train()
    fit_s = time.perf_counter() - start
    return fit_s, (cb.seconds if cb else 0.), (cb.seconds if cb and variant == 'eval' else 0.), trainer


def hf_inference(trainer):
    "Seconds of one `trainer.predict` over the training set, no callback"
    start = time.perf_counter()
    trainer.predict(trainer.train_dataset)
    return time.perf_counter() - start


def med(v) -> str: return f"{statistics.median(v):.3f} ({min(v):.3f}–{max(v):.3f})"


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rounds', type=int, default=3)
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--write', default=None, help='append the results as a markdown section to this file')
    a = p.parse_args()
    logging.getLogger('lightning.pytorch').setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging
    hf_logging.set_verbosity_error()
    x, y = digits()
    text = toy_text()
    plans = [('Lightning', v) for v in ('none', 'online', 'eval')] + [('Hugging Face', v) for v in ('none', 'online', 'eval')]
    res = {k: {'fit': [], 'own': [], 'eval': []} for k in plans}
    infer = {'Lightning': [], 'Hugging Face': []}
    start = time.perf_counter()
    for r in range(a.rounds):
        for k in plans[r % len(plans):] + plans[:r % len(plans)]:   # the order rotates from round to round
            fw, variant = k
            if fw == 'Lightning':
                fit_s, own, ev, model = lightning_fit(variant, x, y, a.epochs)
                if variant == 'eval': infer[fw].append(lightning_inference(model, x, y))   # right after, paired
            else:
                fit_s, own, ev, trainer = hf_fit(variant, text, a.epochs)
                if variant == 'eval': infer[fw].append(hf_inference(trainer))   # right after, paired
            for key, v in (('fit', fit_s), ('own', own), ('eval', ev)): res[k][key].append(v)
            print(fw, variant, f"fit {fit_s:.2f}s own {own:.3f}s eval {ev:.3f}s", flush=True)
    lines = [f"\n### P1, P2 for the Lightning and Hugging Face callbacks\n",
             f"`python bench/adapters.py --rounds {a.rounds}` ({time.perf_counter() - start:.0f} s; torch threads "
             f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f} at the end). Lightning: digits (1437 "
             f"training images, 32×32), `resnet20(width=0.25)`, bs 64; Hugging Face: the toy text task of `02f_hf` "
             f"(2000 sequences), a one-layer BERT from a config, bs 32; {a.epochs} epochs; {a.rounds} interleaved "
             "rounds, median (min–max). Each callback times its own hooks.\n",
             "| framework | variant | fit time | callback's own time | eval passes | inference pass (after the fit) |",
             "|---|---|---|---|---|---|"]
    for (fw, variant), v in res.items():
        lines.append(f"| {fw} | {variant if variant != 'none' else 'no callback'} | {med(v['fit'])}s | "
                     f"{med(v['own'])}s | {med(v['eval'])}s | {med(infer[fw]) + 's' if variant == 'eval' else ''} |")
    fit0 = {fw: statistics.median(res[(fw, 'none')]['fit']) for fw in infer}
    lines.append('')
    for fw in infer:
        own_on = statistics.median(res[(fw, 'online')]['own'])
        p1 = 1 + own_on / fit0[fw]
        steps = a.epochs * -(-(len(x) if fw == 'Lightning' else len(text)) // (64 if fw == 'Lightning' else 32))
        lines.append(f"- **{fw} P1 = 1 + {own_on:.4f} / {fit0[fw]:.3f} = {p1:.4f}** (target ≤ 1.02: "
                     f"{'PASS' if p1 <= 1.02 else 'FAIL'}): {own_on / steps * 1e3:.2f} ms per training step of "
                     f"{fit0[fw] / steps * 1e3:.0f} ms.")
    for fw in infer:   # each round: the eval passes per epoch over an inference pass timed right after that fit
        ratios = [e / a.epochs / i for e, i in zip(res[(fw, 'eval')]['eval'], infer[fw])]
        lines.append(f"- **{fw} P2 = eval pass per epoch / inference pass (paired by round) = {med(ratios)}**; the "
                     f"eval callback's own time is {statistics.median(res[(fw, 'eval')]['own']) / fit0[fw]:.1%} of the "
                     "fit without it.")
    out = '\n'.join(lines) + '\n'
    print(out)
    if a.write:
        with open(a.write, 'a') as f: f.write(out)


if __name__ == '__main__': main()
