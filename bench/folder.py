#!/usr/bin/env python
"""Time to the first training batch from an image folder, on a first run (every file checked to be a readable image)
and on a resumed run (the readability cache answers; only new or changed files are opened), and without the cache.

    python bench/folder.py --n 100000 --out /tmp/folder_100k     # 100,000 small JPEGs in 10 class folders
    python bench/folder.py --quick --out /tmp/folder_quick        # 2,000 images: seconds

Writes the images once (kept for the next call), then `OUT/folder.md` and `OUT/folder.json`.
"""
from __future__ import annotations
import argparse, json, os, sys, time, warnings
from pathlib import Path
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
warnings.filterwarnings("ignore", message=r".*torch\.jit\.script.*deprecated")
import numpy as np

def write_jpegs(root:Path, n:int, side:int=32, classes:int=10, seed:int=0):
    "`n` random small JPEGs, spread over `classes` class folders"
    from PIL import Image
    rng = np.random.default_rng(seed)
    for c in range(classes): (root/f'class{c}').mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (side, side, 3), dtype=np.uint8)).save(root/f'class{i % classes}'/f'{i:07d}.jpg', quality=90)

def first_batch(path:Path, cache) -> float:
    "Seconds from nothing to the first training batch of `image_folder_dls(path)`"
    from learnability_nb.data import image_folder_dls
    t = time.perf_counter()
    dls = image_folder_dls(path, size=32, bs=256, device='cpu', readable_cache=cache)
    dls.train.one_batch()
    return time.perf_counter() - t

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--out', required=True)
    p.add_argument('--n', type=int, default=100_000, help='images')
    p.add_argument('--quick', action='store_true', help='2,000 images')
    a = p.parse_args(argv)
    n = 2000 if a.quick else a.n
    if n < 20: sys.exit(f"--n must be >= 20, got {n}")
    out = Path(a.out); images = out/f'images_{n}'
    if not (images/'done').exists():
        t = time.perf_counter(); write_jpegs(images, n); (images/'done').write_text('')
        print(f"wrote {n:,} JPEGs in {time.perf_counter() - t:.0f}s", flush=True)
    (images/'done').unlink()   # not an image: ImageFolder skips it anyway, but keep the folder clean while timing
    cache = out/'readable.json'
    cache.unlink(missing_ok=True)
    rows = dict(first_run=first_batch(images, cache), resumed_run=first_batch(images, cache),
                no_cache=first_batch(images, False))
    (images/'done').write_text('')
    md = (f"{n:,} JPEGs (32x32) in 10 class folders, `image_folder_dls(size=32, bs=256)` to the first training batch:\n\n"
          "| run | seconds |\n|:--|--:|\n" + ''.join(f"| {k.replace('_', ' ')} | {v:.1f} |\n" for k, v in rows.items()))
    out.mkdir(parents=True, exist_ok=True)
    (out/'folder.md').write_text(md); (out/'folder.json').write_text(json.dumps(dict(n=n, seconds=rows), indent=2))
    print(md)

if __name__ == '__main__': main()
