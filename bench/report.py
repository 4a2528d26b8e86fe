#!/usr/bin/python3
"""report.py: turns the raw outputs of one bench/media run into the table, the breakdown and the
PASS/MISS lines of the targets.

Usage: /usr/bin/python3 report.py RESULTS_DIR
RESULTS_DIR holds modq.txt (modq-bench-media --stages), pillow.txt, convert.txt and rss.txt, as
bench/media writes them. Targets print; they never change the exit status.
"""
import math
import os
import sys

TARGET_PILLOW_SPEEDUP = 4.0  # modq at least this many times faster than Pillow per image
TARGET_FLOOR_RATIO = 2.0  # modq within this factor of the decode floor
TARGET_RSS_MB = 150.0  # peak RSS for a 5640x3172 JPEG
TARGET_SANDBOX_COST = 0.05  # the sandboxed pipeline at most this much slower per image
SANDBOX_MAX_ITEMS = 500  # sandbox.max_items' default: a helper's start is paid once per this many


def read_lines(path, heads):
    """Lines of path whose first word is in heads, as (head, {key: value}) with file= last."""
    out = []
    if not os.path.exists(path):
        return out
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            head, _, rest = line.rstrip("\n").partition(" ")
            if head not in heads:
                continue
            fields, sep, file_ = rest.partition(" file=")
            if not sep and rest.startswith("file="):
                fields, file_ = "", rest[len("file=") :]
            kv = dict(p.split("=", 1) for p in fields.split() if "=" in p)
            if sep or file_:
                kv["file"] = file_
            out.append((head, kv))
    return out


def num(kv, key):
    try:
        v = float(kv[key])
    except (KeyError, ValueError):
        return None
    return v if math.isfinite(v) else None


def mean(values):
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def geomean(values):
    values = [v for v in values if v is not None and v > 0]
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else None


def fmt(v, spec="8.1f", na="na"):
    return format(v, spec) if v is not None else format(na, ">" + spec.split(".")[0])


def ratio(a, b):
    return a / b if a is not None and b else None


def short(path, width=34):
    name = "/".join(path.split("/")[-2:])
    return name if len(name) <= width else "..." + name[-(width - 3) :]


def table(rows):
    print(
        f"{'image':34} {'fmt':4} {'source':>9} {'modq':>8} {'floor':>8} {'pillow':>8} "
        f"{'convert':>8} {'modq/flr':>8} {'pil/modq':>8} {'cnv/modq':>8}"
    )
    for r in rows:
        print(
            f"{short(r['file']):34} {r['fmt']:4} {r['src']:>9} {fmt(r['modq'])} {fmt(r['floor'])} "
            f"{fmt(r['pillow'])} {fmt(r['convert'])} {fmt(ratio(r['modq'], r['floor']), '8.2f')} "
            f"{fmt(ratio(r['pillow'], r['modq']), '8.2f')} "
            f"{fmt(ratio(r['convert'], r['modq']), '8.2f')}"
        )


def summary_row(label, rows):
    m = {k: mean(r[k] for r in rows) for k in ("modq", "floor", "pillow", "convert")}
    print(
        f"{label:34} {'':4} {len(rows):>9} {fmt(m['modq'])} {fmt(m['floor'])} {fmt(m['pillow'])} "
        f"{fmt(m['convert'])} {fmt(ratio(m['modq'], m['floor']), '8.2f')} "
        f"{fmt(ratio(m['pillow'], m['modq']), '8.2f')} "
        f"{fmt(ratio(m['convert'], m['modq']), '8.2f')}"
    )
    return m


def breakdown(images, stages, pillow):
    def avg(src, key):
        return mean(num(kv, key) for kv in src)

    print("\nWhere modq's time goes (mean ms per image, modq-bench-media; by difference of runs")
    print("that each ask the public API for less work):")
    full, base = avg(images, "full_ms"), avg(images, "levels0_ms")
    print(f"  full pipeline                      {fmt(full)}")
    print(f"  floor (decode + resize to display) {fmt(avg(images, 'floor_ms'))}")
    print(f"    of which decode alone            {fmt(avg(images, 'decode_ms'))}  (shrink-on-load, "
          "no resize)")
    print(f"  vips_thumbnail_buffer, same size   {fmt(avg(images, 'thumb_ms'))}")
    print(f"  digests alone (SHA-256 + MD5)      {fmt(avg(images, 'digest_ms'))}")
    print(f"  LEVELS=0: decode + digests + PDQ   {fmt(base)}")
    # Each single-level run is base + G + level, where G (the greyscale base every level is cut
    # from) is paid once per run; the full run is base + G + all levels. So per image:
    # G = (sum of single-level runs - full) / 3 - base, and level n = single(n) - base - G.
    grey, own = [], [[] for _ in range(4)]
    for kv in images:
        single = [num(kv, f"lvl{lv}_ms") for lv in range(4)]
        b, f = num(kv, "levels0_ms"), num(kv, "full_ms")
        if None in single or b is None or f is None:
            continue
        g = (sum(single) - f) / 3 - b
        grey.append(g)
        for lv in range(4):
            own[lv].append(single[lv] - b - g)
    print(f"  + greyscale base, shared by levels {fmt(mean(grey))}")
    for lv in range(4):
        print(f"  + level {lv} (resize, blur, encode)  {fmt(mean(own[lv]))}")
    print("  (differences of medians: expect a few ms of noise, even below zero)")
    cpu = avg(images, "full_cpu_ms")
    print(f"  process CPU time of the full run   {fmt(cpu)}  (vs wall {fmt(full, '.1f')})")

    if stages:
        print("\nThe same work as separate steps at modq's sizes (--stages, mean ms; encode =")
        print("libwebp fed the luma plane, as blur/render.c does):")
        print(f"  decode to display size {fmt(avg(stages, 'decode_ms'), '.1f')}   greyscale "
              f"{fmt(avg(stages, 'grey_ms'), '.1f')}   PDQ {fmt(avg(stages, 'pdq_ms'), '.1f')}")
        print(f"  {'level':6} {'size':>9} {'sigma':>6} {'resize':>7} {'blur':>7} {'encode':>7} "
              f"{'| blur approx':>13} {'vips webpsave':>13} {'plain C r+b':>11}")
        model = avg(stages, "decode_ms") or 0
        model += (avg(stages, "grey_ms") or 0) + (avg(stages, "pdq_ms") or 0)
        for lv in range(4):
            k = f"l{lv}_"
            rs, bl, en = avg(stages, k + "resize_ms"), avg(stages, k + "blur_ms"), avg(
                stages, k + "enc_ms"
            )
            model += (rs or 0) + (bl or 0) + (en or 0)
            size = stages[0].get(f"l{lv}", "?")
            print(
                f"  {lv:<6} {size:>9} {fmt(avg(stages, k + 'sigma_px'), '6.2f')} {fmt(rs, '7.1f')} "
                f"{fmt(bl, '7.1f')} {fmt(en, '7.1f')} {fmt(avg(stages, k + 'blur_approx_ms'), '13.1f')} "
                                f"{fmt(avg(stages, k + 'enc_vips_ms'), '13.1f')} "
                f"{fmt(avg(stages, k + 'plain_c_ms'), '11.1f')}"
            )
        print(f"  sum of the steps {fmt(model, '.1f')} ms vs measured full pipeline "
              f"{fmt(full, '.1f')} ms (size of the first image shown)")

    if pillow:
        print("\nWhere Pillow's time goes (mean ms per image):")
        parts = ["digest", "decode", "pdq", "lvl0", "lvl1", "lvl2", "lvl3"]
        print("  " + "   ".join(f"{p} {fmt(avg(pillow, p + '_ms'), '.1f')}" for p in parts))
        floor = {kv["file"]: (num(kv, "floor_ms"), kv.get("fmt")) for kv in images}
        for f in sorted({v[1] for v in floor.values()}):
            pd = mean(num(kv, "decode_ms") for kv in pillow if floor.get(kv["file"], (0, ""))[1] == f)
            fl = mean(v[0] for v in floor.values() if v[1] == f)
            print(f"  {f}: Pillow's decode to display-size grey {fmt(pd, '.1f')} ms vs modq's floor "
                  f"{fmt(fl, '.1f')} ms")


def sandbox_report(images, starts):
    """Prints the sandboxed pipeline against the in-process one; returns its extra CPU time per
    image (a fraction, helper start-ups amortised), or None without measurements."""
    def pairs(a, b):
        got = [(num(kv, a), num(kv, b)) for kv in images]
        return [(x, y) for x, y in got if x is not None and y is not None]

    wall, cpu = pairs("full_ms", "sandbox_ms"), pairs("full_cpu_ms", "sandbox_cpu_ms")
    start = mean(num(kv, "start_ms") for kv in starts)
    start_cpu = mean(num(kv, "start_cpu_ms") for kv in starts)
    print("\nSandboxed media (modq_sandbox_process: the same pipeline in a confined helper process, "
          "taking turns\nwith the in-process run image by image; CPU time = this process's and "
          "the helper's):")
    if not cpu:
        why = [kv.get("error") for kv in starts if "error" in kv]
        print(f"  not measured{': ' + why[0] if why else ''}")
        return None
    for label, got in (("wall", wall), ("CPU ", cpu)):
        a, b = mean(x for x, _ in got), mean(y for _, y in got)
        print(f"  {label} in-process {a:8.2f} ms, sandboxed {b:8.2f} ms per image (mean of "
              f"{len(got)}): {100 * (b / a - 1):+.2f}%   per image: "
              + " ".join(f"{100 * (y / x - 1):+.1f}%" for x, y in got))
    full, sand = mean(x for x, _ in cpu), mean(y for _, y in cpu)
    amortised = (start_cpu or 0) / SANDBOX_MAX_ITEMS
    cost = (sand + amortised) / full - 1
    print(f"  helper start-up {fmt(start, '.1f')} ms wall, {fmt(start_cpu, '.1f')} ms CPU, once "
          f"per {SANDBOX_MAX_ITEMS} items: {amortised:.3f} ms CPU per image; in all "
          f"{100 * cost:+.2f}% CPU")
    return cost


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    d = sys.argv[1]
    modq = read_lines(os.path.join(d, "modq.txt"),
                      {"config", "image", "stage", "error", "sandbox"})
    pil = read_lines(os.path.join(d, "pillow.txt"), {"config", "pillow", "error"})
    cnv = read_lines(os.path.join(d, "convert.txt"), {"config", "convert", "error"})
    rss = read_lines(os.path.join(d, "rss.txt"), {"rss", "error"})

    images = [kv for h, kv in modq if h == "image"]
    stages = [kv for h, kv in modq if h == "stage" and "file" in kv]
    pillow = {kv["file"]: kv for h, kv in pil if h == "pillow"}
    convert = {kv["file"]: kv for h, kv in cnv if h == "convert"}
    for name, lines in (("modq", modq), ("pillow", pil), ("convert", cnv), ("rss", rss)):
        for h, kv in lines:
            if h == "config":  # one per image when the tools took turns: the first says it all
                print(f"{name}: " + " ".join(f"{k}={v}" for k, v in kv.items()))
                break
    errors = [(n, kv) for n, lines in (("modq", modq), ("pillow", pil), ("convert", cnv))
              for h, kv in lines if h == "error"]

    rows = []
    for kv in images:
        f = kv["file"]
        rows.append({
            "file": f, "fmt": kv.get("fmt", "?"), "src": kv.get("src", "?"),
            "modq": num(kv, "full_ms"), "floor": num(kv, "floor_ms"), "decode": num(kv, "decode_ms"),
            "pillow": num(pillow.get(f, {}), "ms"), "convert": num(convert.get(f, {}), "ms"),
        })
    print("\nms per image (median of the repetitions; convert includes starting its processes)")
    table(rows)
    print("-" * 118)
    m = summary_row("mean per image, all", rows)
    for f in sorted({r["fmt"] for r in rows}):
        summary_row(f"mean per image, {f}", [r for r in rows if r["fmt"] == f])
    g_pil = geomean(ratio(r["pillow"], r["modq"]) for r in rows)
    g_flr = geomean(ratio(r["modq"], r["floor"]) for r in rows)
    print(f"{'geometric mean of per-image ratios':34} {'':4} {'':9} {'':8} {'':8} {'':8} {'':8} "
          f"{fmt(g_flr, '8.2f')} {fmt(g_pil, '8.2f')} "
          f"{fmt(geomean(ratio(r['convert'], r['modq']) for r in rows), '8.2f')}")

    # Wall time counts the moments another process had the CPU; CPU time does not. On a busy
    # machine the CPU-time ratios are the steadier ones.
    cpu = {
        "modq": mean(num(kv, "full_cpu_ms") for kv in images),
        "floor": mean(num(kv, "floor_cpu_ms") for kv in images),
        "pillow": mean(num(pillow.get(kv["file"], {}), "cpu_ms") for kv in images),
        "convert": mean(num(convert.get(kv["file"], {}), "cpu_ms") for kv in images),
    }
    print(f"{'mean CPU time per image, all':34} {'':4} {'':9} {fmt(cpu['modq'])} "
          f"{fmt(cpu['floor'])} {fmt(cpu['pillow'])} {fmt(cpu['convert'])} "
          f"{fmt(ratio(cpu['modq'], cpu['floor']), '8.2f')} "
          f"{fmt(ratio(cpu['pillow'], cpu['modq']), '8.2f')} "
          f"{fmt(ratio(cpu['convert'], cpu['modq']), '8.2f')}")
    print("(CPU time: process user + system, all threads; for convert, its child processes. It "
          "leaves out\n the time other work on the machine took the CPU, so it is steadier on a "
          "busy machine.)")

    breakdown(images, stages, list(pillow.values()))

    print("\nPeak RSS (fresh process, one run of modq_media_process, default options):")
    peak = None
    for h, kv in rss:
        if h == "rss":
            peak = num(kv, "peak_kb") / 1024.0
            print(f"  {kv.get('src')} {kv.get('fmt')} ({int(num(kv, 'bytes') or 0)} bytes): peak "
                  f"{peak:.1f} MB (after init {num(kv, 'init_kb') / 1024:.1f} MB, after reading "
                  f"the file {num(kv, 'after_read_kb') / 1024:.1f} MB) {kv.get('file')}")
        else:
            print(f"  error: {kv}")

    sandbox_cost = sandbox_report(images, [kv for h, kv in modq if h == "sandbox"])

    if errors:
        print(f"\n{len(errors)} error line(s):")
        for n, kv in errors:
            print(f"  {n}: {kv}")

    print("\nTargets:")
    sp, fr = ratio(m["pillow"], m["modq"]), ratio(m["modq"], m["floor"])
    each_pil = sum(1 for r in rows if (ratio(r["pillow"], r["modq"]) or 0) >= TARGET_PILLOW_SPEEDUP)
    each_flr = sum(1 for r in rows if (ratio(r["modq"], r["floor"]) or 1e9) <= TARGET_FLOOR_RATIO)
    verdict = "PASS" if sp is not None and sp >= TARGET_PILLOW_SPEEDUP else "MISS"
    print(f"{verdict} modq >= {TARGET_PILLOW_SPEEDUP:g}x faster than Pillow per image: "
          f"{fmt(sp, '.2f')}x on the mean ({each_pil}/{len(rows)} images individually); "
          f"ceiling: Pillow/floor = {fmt(ratio(m['pillow'], m['floor']), '.2f')}x is what a "
          "pipeline doing nothing but the floor's decode would show")
    verdict = "PASS" if fr is not None and fr <= TARGET_FLOOR_RATIO else "MISS"
    print(f"{verdict} modq within {TARGET_FLOOR_RATIO:g}x of the decode floor: {fmt(fr, '.2f')}x on "
          f"the mean ({each_flr}/{len(rows)} images individually)")
    dec = mean(r["decode"] for r in rows)
    print(f"     (against the decode alone, without the resize to display size: "
          f"{fmt(ratio(m['modq'], dec), '.2f')}x)")
    verdict = "PASS" if peak is not None and peak < TARGET_RSS_MB else "MISS"
    print(f"{verdict} peak RSS < {TARGET_RSS_MB:g} MB for a 5640x3172 JPEG: "
          f"{fmt(peak, '.1f')} MB")
    verdict = "PASS" if sandbox_cost is not None and sandbox_cost < TARGET_SANDBOX_COST else "MISS"
    print(f"{verdict} sandboxed media costs < {TARGET_SANDBOX_COST:.0%} more CPU time per image "
          f"than in-process: {'na' if sandbox_cost is None else format(100 * sandbox_cost, '+.1f')}% "
          f"(helper start-ups amortised over sandbox.max_items = {SANDBOX_MAX_ITEMS})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
