#!/usr/bin/python3
"""peer_pillow.py: the Pillow + hashlib peer of bench/media.

Does, per image, the job modq_media_process does, as well as Pillow allows and single-threaded:
SHA-256 and MD5 of the bytes; one decode shrunk on load (JPEG draft straight to greyscale at the
smallest DCT scale that still covers the display size, as Image.thumbnail() does); EXIF
orientation; flatten alpha on white; greyscale; a PDQ-equivalent hash (64x64 box-filtered luma,
16x16 DCT with numpy, median threshold, quality, the 8 dihedral variants); and the 4 WebP
renditions at exactly the sizes, blur sigmas, quality and effort modq used for that image, read
from modq-bench-media's output (so the two cannot drift apart), each level scaled (bilinear) from
the previous level's downscale as modq does.

Usage: /usr/bin/python3 peer_pillow.py --modq MODQ_OUTPUT --effort E [--reps N]
Prints one "pillow ms=... file=PATH" line per image (median of N runs after a warm-up, bytes
already in memory as for modq), with the median time of each stage (digest, decode: open to
display-size greyscale, pdq, lvlN: resize + blur + encode of level N), then a summary line.
"""
import argparse
import hashlib
import io
import os
import statistics
import sys
import time

# Single-threaded like the others: numpy's BLAS must not fan out (set before numpy loads).
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import numpy as np  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402

ORIENTATION_TAG = 0x0112
# EXIF orientation -> Pillow transpose, as ImageOps.exif_transpose maps them.
TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def parse_modq(path):
    """Reads modq-bench-media's config and image lines: the job each image must get."""
    config, images = {}, []
    with open(path, encoding="utf-8") as f:
        for line in f:
            head, _, rest = line.rstrip("\n").partition(" ")
            if head not in ("config", "image"):
                continue
            fields, _, file_ = rest.partition(" file=")
            kv = dict(p.split("=", 1) for p in fields.split() if "=" in p)
            if head == "config":
                kv.update(dict(p.split("=", 1) for p in file_.split() if "=" in p))
                config = kv
            else:
                kv["file"] = file_
                images.append(kv)
    return config, images


def size_of(s):
    w, h = s.split("x")
    return int(w), int(h)


def pdq_matrices():
    """The 16x64 DCT matrix of PDQ (rows 1..16 of a 64-point DCT-II)."""
    i = np.arange(1, 17).reshape(16, 1)
    j = np.arange(64).reshape(1, 64)
    return (np.sqrt(2.0 / 64.0) * np.cos(np.pi / 128.0 * i * (2 * j + 1))).astype(np.float32)


DCT = pdq_matrices()
# Dihedral variants in the DCT domain: a flip negates the odd-index coefficients along its axis.
ODD_ROWS = np.where(np.arange(16) % 2 == 1, -1.0, 1.0).reshape(16, 1).astype(np.float32)
ODD_COLS = ODD_ROWS.reshape(1, 16)


def pdq_hash(luma_img):
    """PDQ of an 8-bit greyscale image: 256-bit hash, quality, and the 8 dihedral hashes."""
    # PDQ's reference low-passes with a box (Jarosz) filter and samples 64x64; Pillow's BOX
    # resize averages each of the 64x64 cells in C, the same low-pass done cheaply.
    b = np.asarray(luma_img.resize((64, 64), Image.Resampling.BOX), dtype=np.float32)
    grad = np.abs(np.diff(b, axis=0)).sum() + np.abs(np.diff(b, axis=1)).sum()
    quality = min(100, int(grad / 90.0))
    d = DCT @ b @ DCT.T
    variants = [
        d,
        (d * ODD_COLS).T,  # rotations and flips are sign flips and transposes of the DCT
        d * ODD_ROWS * ODD_COLS,
        (d * ODD_ROWS).T,
        d * ODD_COLS,
        d * ODD_ROWS,
        d.T,
        (d * ODD_ROWS * ODD_COLS).T,
    ]
    hashes = [np.packbits((v > np.median(v)).ravel()).tobytes() for v in variants]
    return hashes[0], quality, hashes


def flatten_on_white(im):
    """Drops alpha the way modq does: composite over white."""
    base_mode = "L" if im.mode == "LA" else "RGB"
    bg = Image.new(base_mode, im.size, 255 if base_mode == "L" else (255, 255, 255))
    bg.paste(im.convert(base_mode), mask=im.getchannel("A"))
    return bg


def process(data, job, quality, effort, marks):
    """The whole per-image job. Returns the outputs so nothing is optimised away. Appends a
    perf_counter_ns() reading to marks after each stage (digests, decode, pdq, each level)."""
    marks.append(time.perf_counter_ns())
    sha = hashlib.sha256(data).digest()
    md5 = hashlib.md5(data).digest()
    marks.append(time.perf_counter_ns())
    dw, dh = size_of(job["disp"])
    im = Image.open(io.BytesIO(data))
    orientation = im.getexif().get(ORIENTATION_TAG, 1)
    swap = orientation in (5, 6, 7, 8)
    tw, th = (dh, dw) if swap else (dw, dh)  # the display size before rotation
    if im.format == "JPEG" and im.mode in ("RGB", "L", "YCbCr"):
        im.draft("L", (tw, th))  # libjpeg scales the DCT and emits only Y, which is PDQ's luma
    if "A" in im.mode or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("LA" if im.mode in ("LA", "L") else "RGBA")
        if im.size != (tw, th):
            im = im.resize((tw, th), Image.Resampling.LANCZOS, reducing_gap=2.0)
        im = flatten_on_white(im).convert("L")
    else:
        im = im.convert("L")  # before resizing: one channel is cheaper to resample
        if im.size != (tw, th):
            im = im.resize((tw, th), Image.Resampling.LANCZOS, reducing_gap=2.0)
    if orientation in TRANSPOSE:
        im = im.transpose(TRANSPOSE[orientation])
    marks.append(time.perf_counter_ns())
    pdq, pdq_quality, _ = pdq_hash(im)
    marks.append(time.perf_counter_ns())
    outs = []
    src = im  # each level is scaled from the previous level's downscale, as modq does
    for level in range(4):
        rendition = job.get(f"r{level}")
        if rendition is None:
            continue
        rw, rh = size_of(rendition)
        r = src
        if (rw, rh) != src.size:
            # The blur hides the kernel: bilinear, as modq's levels use.
            r = src.resize((rw, rh), Image.Resampling.BILINEAR, reducing_gap=2.0)
            src = r
        sigma = job["sigma"][level] * max(rw, rh)
        if sigma > 0:
            # Pillow's GaussianBlur radius is the standard deviation (extended box filters).
            r = r.filter(ImageFilter.GaussianBlur(radius=sigma))
        buf = io.BytesIO()
        r.save(buf, "WEBP", quality=quality, method=effort)
        outs.append(buf.getvalue())
        marks.append(time.perf_counter_ns())
    return sha, md5, pdq, pdq_quality, outs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modq", required=True, help="modq-bench-media output to take jobs from")
    ap.add_argument("--effort", type=int, required=True, help="WebP effort (Pillow's method)")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if not 1 <= args.reps <= 100:
        ap.error("--reps wants 1..100")

    config, images = parse_modq(args.modq)
    if not config or not images:
        print("peer_pillow: no jobs in " + args.modq, file=sys.stderr)
        return 1
    quality = int(config["quality"])
    sigmas = [float(s) for s in config["sigma"].split(",")]
    print(
        f"config peer=pillow pillow={Image.__version__} numpy={np.__version__} "
        f"reps={args.reps} quality={quality} effort={args.effort}"
    )
    total, n, failed = 0.0, 0, 0
    for job in images:
        job["sigma"] = sigmas
        try:
            with open(job["file"], "rb") as f:
                data = f.read()
            process(data, job, quality, args.effort, [])  # warm-up
            times, cpu, stages = [], [], []
            for _ in range(args.reps):
                marks = []
                c0, t0 = time.process_time_ns(), time.perf_counter_ns()
                res = process(data, job, quality, args.effort, marks)
                times.append((time.perf_counter_ns() - t0) / 1e6)
                cpu.append((time.process_time_ns() - c0) / 1e6)
                stages.append([(b - a) / 1e6 for a, b in zip(marks, marks[1:])])
        except Exception as e:  # one bad image must not hide the rest of the table
            print(f"error peer=pillow reason={type(e).__name__}:{e} file={job['file']}")
            failed += 1
            continue
        ms = statistics.median(times)
        total += ms
        n += 1
        sizes = ",".join(str(len(o)) for o in res[4])
        names = ["digest", "decode", "pdq"] + [f"lvl{lv}" for lv in range(4) if f"r{lv}" in job]
        parts = " ".join(
            f"{name}_ms={statistics.median(st[i] for st in stages):.2f}"
            for i, name in enumerate(names)
        )
        print(
            f"pillow ms={ms:.2f} cpu_ms={statistics.median(cpu):.2f} {parts} "
            f"pdq_quality={res[3]} out_bytes={sizes} "
            f"file={job['file']}"
        )
        sys.stdout.flush()
    print(f"summary peer=pillow images={n} failed={failed} ms={total / max(n, 1):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
