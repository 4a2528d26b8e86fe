#!/usr/bin/python3
"""peer_convert.py: the ImageMagick peer of bench/media.

Per image, times the job as a shell script would do it with stock tools, single-threaded:
sha256sum and md5sum of the file, then one ImageMagick `convert` that decodes once (with the
jpeg:size hint, so libjpeg scales the DCT as modq's shrink-on-load does), auto-orients, strips
metadata, flattens alpha on white, goes greyscale, resizes to the display size and writes the 4
WebP renditions at exactly the sizes, blur sigmas, quality and effort modq used for that image
(read from modq-bench-media's output), cloning the decoded image in memory rather than decoding
again. It computes no PDQ hash: ImageMagick has none. The time includes starting the three
processes (that is how this peer is used), and writing the renditions to a tmpfs directory.

Usage: /usr/bin/python3 peer_convert.py --modq MODQ_OUTPUT --effort E --tmp DIR [--reps N]
Prints one "convert ms=... file=PATH" line per image (median of N runs after a warm-up), then a
summary line.
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from peer_pillow import parse_modq, size_of


def command(job, sigmas, quality, effort, outdir):
    """The convert argument list for one image: decode once, 4 outputs from clones."""
    dw, dh = size_of(job["disp"])
    cmd = ["convert", "-limit", "thread", "1", "-define", f"jpeg:size={dw}x{dh}", job["file"]]
    cmd += ["-auto-orient", "-strip", "-background", "white", "-alpha", "remove"]
    cmd += ["-colorspace", "Gray", "-resize", f"{dw}x{dh}!"]
    cmd += ["-quality", str(quality), "-define", f"webp:method={effort}"]
    levels = [lv for lv in range(4) if f"r{lv}" in job]
    for i, level in enumerate(levels):
        rw, rh = size_of(job[f"r{level}"])
        sigma = sigmas[level] * max(rw, rh)
        out = os.path.join(outdir, f"r{level}.webp")
        steps = []
        if (rw, rh) != (dw, dh):
            steps += ["-resize", f"{rw}x{rh}!"]
        if sigma > 0:
            steps += ["-blur", f"0x{sigma:.3f}"]
        if i == len(levels) - 1:
            cmd += steps + [out]  # the last level may consume the decoded image itself
        else:
            cmd += ["(", "+clone"] + steps + ["-write", out, "+delete", ")"]
    return cmd


def children_cpu_ms():
    """User + system CPU time of every finished child process so far, in ms."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime) * 1e3


def run_once(job, cmd, env):
    """sha256sum, md5sum, convert, one after the other, as a script would."""
    for c in (["sha256sum", job["file"]], ["md5sum", job["file"]], cmd):
        subprocess.run(c, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--modq", required=True, help="modq-bench-media output to take jobs from")
    ap.add_argument("--effort", type=int, required=True, help="WebP effort (webp:method)")
    ap.add_argument("--tmp", required=True, help="where to write renditions (tmpfs is best)")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    if not 1 <= args.reps <= 100:
        ap.error("--reps wants 1..100")
    if shutil.which("convert") is None:
        print("peer_convert: ImageMagick convert not found", file=sys.stderr)
        return 1

    config, images = parse_modq(args.modq)
    if not config or not images:
        print("peer_convert: no jobs in " + args.modq, file=sys.stderr)
        return 1
    quality = int(config["quality"])
    sigmas = [float(s) for s in config["sigma"].split(",")]
    env = dict(os.environ, MAGICK_THREAD_LIMIT="1", OMP_NUM_THREADS="1")
    version = subprocess.run(["convert", "-version"], capture_output=True, text=True).stdout
    print(
        f"config peer=convert imagemagick={version.split()[2] if version else '?'} "
        f"reps={args.reps} quality={quality} effort={args.effort} process_start=included"
    )
    total, n, failed = 0.0, 0, 0
    outdir = tempfile.mkdtemp(prefix="convert-", dir=args.tmp)
    try:
        for job in images:
            cmd = command(job, sigmas, quality, args.effort, outdir)
            try:
                run_once(job, cmd, env)  # warm-up, and the page cache holds the file
                times, cpu = [], []
                for _ in range(args.reps):
                    c0, t0 = children_cpu_ms(), time.perf_counter_ns()
                    run_once(job, cmd, env)
                    times.append((time.perf_counter_ns() - t0) / 1e6)
                    cpu.append(children_cpu_ms() - c0)
            except subprocess.CalledProcessError as e:
                reason = (e.stderr or b"").decode(errors="replace").strip().replace("\n", " ")
                print(f"error peer=convert reason={reason[:300]} file={job['file']}")
                failed += 1
                continue
            ms = statistics.median(times)
            total += ms
            n += 1
            sizes = ",".join(
                str(os.path.getsize(os.path.join(outdir, f"r{lv}.webp")))
                for lv in range(4)
                if f"r{lv}" in job
            )
            print(
                f"convert ms={ms:.2f} cpu_ms={statistics.median(cpu):.2f} out_bytes={sizes} "
                f"file={job['file']}"
            )
            sys.stdout.flush()
    finally:
        shutil.rmtree(outdir, ignore_errors=True)
    print(f"summary peer=convert images={n} failed={failed} ms={total / max(n, 1):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
