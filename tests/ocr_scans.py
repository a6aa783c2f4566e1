"""Scans rendered from text PDFs, for measuring OCR (tests/test_ocr_scans.py and the benchmark below).

A variant is (dpi, mode, skew degrees, JPEG quality, noise sigma): the text PDF is rendered by pdfium
at `dpi`, turned by `skew`, given Gaussian noise, binarised for mode "bilevel" (CCITT G4 in the PDF)
or JPEG-compressed at `quality` for mode "grey", and written back as an image-only PDF.

Benchmark (cell accuracy and time per engine, truth = the text PDF's own parse):
    .venv/bin/python tests/ocr_scans.py [--engines both,tesseract] [--docs a.pdf,b.pdf] [--variants v1,v2]
"""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

CORPUS = os.environ.get("OGI_CORPUS", "/work/shared/corpus")


@dataclass(frozen=True)
class Variant:
    name: str
    dpi: int
    mode: str = "grey"          # grey | bilevel
    skew: float = 0.0
    quality: int = 92
    noise: float = 0.0


VARIANTS = {v.name: v for v in [
    Variant("300-grey", 300, quality=92),
    Variant("200-bilevel", 200, mode="bilevel"),
    Variant("150-grey-skew1", 150, skew=1.0, quality=80),
    Variant("100-grey", 100, quality=90),
    Variant("200-grey-skew-2-noise-jpeg30", 200, skew=-2.0, quality=30, noise=8.0),
]}


def render_scan(pdf: bytes, v: Variant, pages: list[int] | None = None, seed: int = 7) -> bytes:
    import numpy as np
    import pypdfium2 as pdfium
    from PIL import Image

    rng = np.random.default_rng(seed)
    doc = pdfium.PdfDocument(pdf)
    images = []
    for i in range(len(doc)):
        if pages is not None and i not in pages:
            continue
        im = doc[i].render(scale=v.dpi / 72, grayscale=True).to_pil().convert("L")
        if v.skew:
            im = im.rotate(v.skew, resample=Image.BICUBIC, expand=False, fillcolor=255)
        if v.noise:
            a = np.asarray(im, dtype=np.float32) + rng.normal(0, v.noise, (im.height, im.width))
            im = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
        if v.mode == "bilevel":
            im = im.point(lambda p: 255 if p > 150 else 0).convert("1")
        images.append(im)
    doc.close()
    buf = io.BytesIO()
    extra = {} if v.mode == "bilevel" else {"quality": v.quality}
    images[0].save(buf, "PDF", save_all=True, append_images=images[1:], resolution=float(v.dpi), **extra)
    return buf.getvalue()


def parse_cells(path: str, engine: str | None = None) -> tuple[dict, list, float]:
    env = dict(os.environ)
    if engine:
        env["OGI_OCR_ENGINE"] = engine
    ogi = os.path.join(os.path.dirname(sys.executable), "ogi")
    env.setdefault("OGI_OCR_BUDGET", "600")      # accuracy, not the time limit, on a busy machine
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([ogi, "parse", "--json", path], capture_output=True, env=env, timeout=900)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    rec = json.loads(out.stdout.decode().splitlines()[0])
    return rec.get("cells") or {}, rec.get("errors") or [], cpu


def compare(truth: dict, got: dict) -> dict:
    right = sum(1 for k, v in truth.items() if k in got and got[k] == v)
    wrong = {k: (v, got[k]) for k, v in truth.items() if k in got and got[k] != v}
    extra = {k: got[k] for k in got if k not in truth}
    missing = sorted(k for k in truth if k not in got)
    return {"cells": len(truth), "right": right, "wrong": wrong, "extra": extra, "missing": missing,
            "accuracy": right / len(truth) if truth else 1.0}


def main(argv: list[str]) -> None:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--engines", default="both,tesseract")
    ap.add_argument("--docs", default="huaian-gov-2024.pdf,pingtan-zone-2023.pdf,shanghai-gov-office-2019.pdf")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--out", default="/tmp/ocr-bench.json")
    a = ap.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for doc in a.docs.split(","):
            src = os.path.join(CORPUS, "docs", doc)
            truth, _, _ = parse_cells(src)
            for vn in a.variants.split(","):
                v = VARIANTS[vn]
                scan = os.path.join(tmp, f"{vn}-{doc}")
                with open(scan, "wb") as fh:
                    fh.write(render_scan(open(src, "rb").read(), v))
                for eng in a.engines.split(","):
                    got, errors, secs = parse_cells(scan, None if eng == "both" else eng)
                    r = compare(truth, got)
                    r.update(doc=doc, variant=vn, engine=eng, cpu_seconds=round(secs, 1))
                    results.append(r)
                    print(f"{doc:32} {vn:30} {eng:10} acc {r['right']:4}/{r['cells']:4} "
                          f"= {r['accuracy']:.3f}  wrong {len(r['wrong'])} {dict(list(r['wrong'].items())[:4])}"
                          f"  cpu {secs:5.1f}s", flush=True)
    json.dump(results, open(a.out, "w"), ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main(sys.argv[1:])
