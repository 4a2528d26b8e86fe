#!/usr/bin/python3
"""Writes the generated seed corpora of tests/fuzz/corpus (tickets, ledgers, offsets metadata,
images, tokens, configurations) from tiny hand-made inputs: protobuf messages via
`protoc --encode` of the schema in proto/, images via Pillow (Debian's python3-pil) and, for
HEIF/AVIF, ImageMagick when it has the coder. Deterministic apart from HEIF/AVIF encoders.
Text seeds that are plain copies (policies, HTTP requests) are committed as written.
Run from anywhere:  /usr/bin/python3 tests/fuzz/make_seeds.py [HARNESS...]  (default: all)
Reproducers found by fuzzing are committed beside the seeds under names starting "crash-" or
"repro-", and are never regenerated."""
import base64
import hashlib
import hmac
import io
import json
import os
import struct
import subprocess
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")
T0 = 1767603600000  # 2026-01-05T09:00:00Z
MIN = 60000


def write(harness, name, data):
    d = os.path.join(CORPUS, harness)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def encode(message, proto, text):
    return subprocess.run(["protoc", f"--encode=modq.v1.{message}", "-I", SRC, f"proto/{proto}"],
                          input=text.encode(), capture_output=True, check=True).stdout


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


# ---- offsets: mode, cap, committed, payload length, payload, operations ----
def offsets_seed(mode, cap, committed, payload, ops):
    return (bytes([mode]) + struct.pack("<H", cap) + struct.pack("<q", committed) +
            struct.pack("<H", len(payload)) + payload + ops)


def offsets_metadata(base, runs):
    b = varint(base) + b"".join(varint(n - 1) + varint(d - 1) for n, d in runs)
    return b, "v1:" + base64.b64encode(b + struct.pack("<I", zlib.crc32(b))).decode()


def seeds_offsets():
    ops = bytes([1, 3, 1, 5, 0, 2, 1, 7, 0, 0, 1, 1, 4, 1, 9, 0])
    binary, text = offsets_metadata(100, [(1, 2), (3, 1), (1, 5)])
    write("offsets", "binary-runs", offsets_seed(3, 3000, 100, binary, ops))
    write("offsets", "text-runs", offsets_seed(0, 3000, 100, text.encode(), ops))
    write("offsets", "empty", offsets_seed(0, 3000, 0, b"", ops))
    write("offsets", "uncommitted", offsets_seed(0, 64, -1001, b"", ops * 4))
    binary, text = offsets_metadata(7, [(n % 3 + 1, n % 5 + 1) for n in range(40)])
    write("offsets", "many-runs-small-cap", offsets_seed(1, 64, 7, binary, ops))
    write("offsets", "other-version", offsets_seed(0, 3000, 5, b"v2:AAAA", ops))


# ---- ledger: 8 event bytes, then a modq.v1.Ledger ----
def seeds_ledger():
    events = bytes([0x09, 0x12, 0x0B, 0x1C, 0x2D, 0x31, 0x0A, 0x3F])
    segs = ""
    t = T0
    for i, (cat, tier, level) in enumerate([("hate", 3, 3), ("hate", 3, 1), ("spam", 1, 0),
                                            ("violent_extremism", 4, 3)]):
        segs += (f"segments {{ start_ms: {t} end_ms: {t + 4 * MIN} category: \"{cat}\" "
                 f"tier: {tier} reveal_level: {level} colour: {str(i == 2).lower()} "
                 f"item_start: {str(i != 1).lower()} }}\n")
        t += 4 * MIN
    closed = encode("Ledger", "ledger.proto", f"""format_version: 1
associate_id: "a1"
shift_start_ms: {T0}
last_ms: {t + 10 * MIN}
{segs}
breaks {{ start_ms: {t} end_ms: {t + 10 * MIN} }}
shifts {{ start_ms: {T0} end_ms: -1 }}
shift_floor_ms: -1
""")
    write("ledger", "shift-with-items", events + closed)
    opened = encode("Ledger", "ledger.proto", f"""format_version: 1
associate_id: "a2"
shift_start_ms: {T0}
last_ms: {T0 + MIN}
segments {{ start_ms: {T0} end_ms: -1 category: "nudity" tier: 2 reveal_level: 3 item_start: true }}
item_open: true
shifts {{ start_ms: {T0 - 600 * MIN} end_ms: {T0 - 540 * MIN} }}
shifts {{ start_ms: {T0} end_ms: -1 }}
shift_floor_ms: {T0 - 700 * MIN}
""")
    write("ledger", "item-on-screen", events + opened)
    on_break = encode("Ledger", "ledger.proto", f"""format_version: 1
associate_id: "a3"
shift_start_ms: -1
last_ms: {T0 + 5 * MIN}
breaks {{ start_ms: {T0} end_ms: -1 }}
on_break: true
shift_floor_ms: 0
""")
    write("ledger", "on-break", events + on_break)
    empty = encode("Ledger", "ledger.proto", f"""format_version: 1
associate_id: "a4"
shift_start_ms: -1
last_ms: {-(1 << 63)}
""")
    write("ledger", "empty", bytes(8) + empty)


# ---- media: an options byte, then the image ----
def save(img, fmt, **kw):
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def sample_rgb():
    """The 16 x 12 gradient every image seed is made of."""
    from PIL import Image

    rgb = Image.new("RGB", (16, 12))
    for y in range(12):
        for x in range(16):
            rgb.putpixel((x, y), (x * 16, y * 20, (x ^ y) * 16))
    return rgb


def images():
    from PIL import Image

    rgb = sample_rgb()
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90
    out = {
        "png": save(rgb, "PNG"),
        "png-palette-alpha": save(rgb.convert("P"), "PNG", transparency=0),
        "png-grey16": save(rgb.convert("I"), "PNG"),
        "jpeg": save(rgb, "JPEG", quality=50),
        "jpeg-progressive-exif": save(rgb, "JPEG", quality=50, progressive=True, exif=exif),
        "webp": save(rgb, "WEBP", quality=50),
        "webp-lossless": save(rgb, "WEBP", lossless=True),
        "gif-two-frames": save(rgb.convert("P"), "GIF", save_all=True,
                               append_images=[rgb.rotate(90).convert("P")], duration=100),
        "tiff": save(rgb, "TIFF"),
        "svg-blocked": b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>',
    }
    out["jpeg-truncated"] = out["jpeg"][: len(out["jpeg"]) // 2]
    for fmt in ("avif", "heic"):
        try:
            r = subprocess.run(["convert", "png:-", f"{fmt}:-"], input=out["png"],
                               capture_output=True, check=True)
            out[fmt] = r.stdout
        except (OSError, subprocess.CalledProcessError):
            print(f"make_seeds: no {fmt} seed (no ImageMagick {fmt} coder)", file=sys.stderr)
    return out


def seeds_media(imgs):
    options = {"png": 0x00, "png-palette-alpha": 0x0B, "png-grey16": 0xE1, "jpeg": 0x02,
               "jpeg-progressive-exif": 0x14, "webp": 0x09, "webp-lossless": 0xE6,
               "gif-two-frames": 0x01, "tiff": 0x20, "svg-blocked": 0, "jpeg-truncated": 0x10,
               "avif": 0x05, "heic": 0x00}
    for name, data in imgs.items():
        write("media", name, bytes([options[name]]) + data)


# ---- ticket: a packed modq.v1.Ticket ----
def pb_bytes(b):
    return '"' + "".join(f"\\{c:03o}" for c in b) + '"'


def ticket(name, text):
    write("ticket", name, encode("Ticket", "modq.proto", text))


def seeds_ticket(imgs):
    base = 'content_id: "c-1" trace_id: "tr-1" source: "fuzz" created_at_ms: 1767603000000 '
    ticket("text-only", base + 'ticket_id: "t-1" queue: "hate" locale: "de-DE" '
           'reporter_reason: "reported twice" text: "caption \\303\\244 text" priority: 3 '
           'severity_hint: SEVERITY_TIER3 attributes { key: "k" value: "v" }')
    ticket("inline-png", base + 'ticket_id: "t-2" queue: "spam" '
           f'media {{ inline_bytes: {pb_bytes(imgs["png"])} claimed_mime_type: "image/png" }}')
    ticket("inline-jpeg-tier4", base + 'ticket_id: "t-3" queue: "violent_extremism" '
           'required_skills: "extremism" required_skills: "ar" '
           f'media {{ inline_bytes: {pb_bytes(imgs["jpeg"])} }}')
    ticket("uri-bank-match", base + 'ticket_id: "t-4" queue: "nudity" '
           'media { uri: "file:///tmp/modq-fuzz-media/root/a.png" }')
    ticket("uri-prior-decision", base + 'ticket_id: "t-5" queue: "hate_ar" '
           'media { uri: "file:///tmp/modq-fuzz-media/root/b.jpg" size_hint_bytes: 900 }')
    ticket("uri-symlink-out", base + 'ticket_id: "t-6" queue: "self_harm" '
           'media { uri: "file:///tmp/modq-fuzz-media/root/link.png" }')
    ticket("uri-http", base + 'ticket_id: "t-7" queue: "spam" '
           'media { uri: "https://media.example/x.png" }')
    ticket("decided", base + 'ticket_id: "t-decided" queue: "spam"')
    ticket("unknown-queue", base + 'ticket_id: "t-8" queue: "no-such-queue"')


# ---- review: a packed modq.v1.ReviewItem (proto/review.proto) ----
def ladder(fmt, colour, display=(16, 12)):
    """Renditions of the sample image for levels 0..3 as a prepare pod makes them: blurred more
    at each level, the heavier levels stored smaller, WebP or JPEG without metadata."""
    from PIL import ImageFilter

    out = []
    for level, (radius, scale) in enumerate([(0, 1), (1, 1), (2, 2), (3, 2)]):
        img = sample_rgb() if colour else sample_rgb().convert("L")
        if radius:
            img = img.filter(ImageFilter.GaussianBlur(radius))
        w, h = display[0] // scale, display[1] // scale
        img = img.resize((w, h))
        data = save(img, "JPEG", quality=40) if fmt == "jpeg" else save(img, "WEBP", quality=40)
        out.append((level, w, h, data))
    return out


def prepared_media(source, source_format, fmt="webp", colour=False, in_colour=False, level0=None,
                   sha_len=32):
    """A PreparedMedia of the 16 x 12 source bytes: its real SHA-256 and MD5; PDQ variants made
    up (the desk checks their size only, never recomputes them). The grey ladder (in colour when
    in_colour: the one ladder), and a colour one beside it when colour."""
    rends = ""
    for col, on in ((in_colour, True), (True, colour and not in_colour)):
        for level, w, h, data in (ladder(fmt, col) if on else []):
            if level == 0 and level0 is not None:
                data = level0
            rends += (f"renditions {{ level: {level} colour: {str(col and not in_colour).lower()}"
                      f" width: {w} height: {h} data: {pb_bytes(data)} }}\n")
    pdq = "".join(f"pdq_dihedral: {pb_bytes(hashlib.sha256(b'pdq%d' % v).digest())}\n"
                  for v in range(8))
    return (f"media {{ width: 16 height: 12 frames: 1 format: \"{source_format}\" "
            f"display_width: 16 display_height: 12 jpeg_renditions: {str(fmt == 'jpeg').lower()} "
            f"levels_in_colour: {str(in_colour).lower()} "
            f"sha256: {pb_bytes(hashlib.sha256(source).digest()[:sha_len])} "
            f"md5: {pb_bytes(hashlib.md5(source).digest())}\n{pdq}pdq_quality: 90\n{rends}}}\n")


def review(name, ticket_text, rest=""):
    base = 'content_id: "c-1" trace_id: "tr-1" source: "fuzz" created_at_ms: 1767603000000'
    write("review", name, encode("ReviewItem", "review.proto", f"""format_version: 1
ticket {{ {base} {ticket_text} }}
source_topic: "modq.tickets.fuzz" source_partition: 2 source_offset: 41
prepared_by: "w-prep" prepared_at_ms: {T0 - 5000}
{rest}"""))


def seeds_review(imgs):
    png, jpeg = imgs["png"], imgs["jpeg"]
    review("text-only", 'ticket_id: "r-1" queue: "hate" locale: "de-DE" priority: 2 '
           'reporter_reason: "reported twice" text: "caption \\303\\244\\tand\\nline 2" '
           'severity_hint: SEVERITY_TIER3 attributes { key: "app" value: "web" }')
    review("media-webp-both-ladders", 'ticket_id: "r-2" queue: "self_harm" text: "look"',
           prepared_media(png, "png", colour=True))
    review("media-jpeg-grey-skills", 'ticket_id: "r-3" queue: "violent_extremism" '
           'required_skills: "extremism" required_skills: "ar"',
           prepared_media(jpeg, "jpeg", "jpeg"))
    review("escalated-in-colour", 'ticket_id: "r-4" queue: "nudity"',
           prepared_media(png, "png", in_colour=True) +
           'escalated: true escalation_note: "second look, please\\nthe left corner" '
           'escalated_by: "a1" escalated_team: "t1"')
    review("escalated-no-team", 'ticket_id: "r-5" queue: "spam" text: "buy now"',
           'escalated: true escalated_by: "fuzz-lead"')
    review("prior-decision", 'ticket_id: "r-6" queue: "hate_ar" locale: "ar"',
           prepared_media(png, "png") + 'has_prior: true prior_verdict: 2 '
           f'prior_ticket_id: "t-old/1" prior_decided_at_ms: {T0 - 3600000}')
    # Refused: each for one reason.
    review("bad-level0-html", 'ticket_id: "r-7" queue: "self_harm"',
           prepared_media(png, "png", level0=b"<html><script>alert(1)</script></html>"))
    review("bad-sha256-short", 'ticket_id: "r-8" queue: "nudity"',
           prepared_media(png, "png", sha_len=31))
    review("bad-note-not-escalated", 'ticket_id: "r-9" queue: "spam"',
           'escalation_note: "hello" escalated_by: "a1"')
    review("unknown-queue", 'ticket_id: "r-10" queue: "no_such_queue"')
    write("review", "bad-not-protobuf", b"\xff\xff\xff\xff\x0f")


# ---- jwt: a mode byte, then a token / a key byte, header, NUL, payload / a JWKS ----
NOW_S = T0 // 1000
SECRET = b"the fuzzing HS256 secret, thirty-two bytes or more"


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def claims(**extra):
    c = {"sub": "a1", "roles": ["associate"], "team": "t1", "iss": "modq-fuzz", "aud": "modq",
         "exp": NOW_S + 3600, "iat": NOW_S - 60, "skills": ["extremism"], "locales": ["ar"],
         "opt_outs": ["csam"]}
    c.update(extra)
    return json.dumps(c, separators=(",", ":")).encode()


def hs256(header, payload):
    signing = b64url(header) + "." + b64url(payload)
    mac = hmac.new(SECRET, signing.encode(), hashlib.sha256).digest()
    return (signing + "." + b64url(mac)).encode()


def seeds_jwt():
    hdr = b'{"alg":"HS256","typ":"JWT"}'
    write("jwt", "token-hs256", b"\x00" + hs256(hdr, claims()))
    write("jwt", "token-hs256-aud-array", b"\x00" + hs256(
        b'{"alg":"HS256","typ":"at+jwt"}', claims(aud=["x", "modq"], nbf=NOW_S - 5)))
    write("jwt", "token-none", b"\x00" + (b64url(b'{"alg":"none"}') + "." +
                                         b64url(claims()) + ".").encode())
    write("jwt", "signed-hs256", b"\x01\x00" + hdr + b"\x00" + claims(roles=["lead", "qa"]))
    write("jwt", "signed-rs256", b"\x01\x01" + b'{"alg":"RS256"}' + b"\x00" + claims())
    write("jwt", "signed-es256-kid", b"\x01\x02" + b'{"alg":"ES256","kid":"e1"}' + b"\x00" +
          claims(team="", exp=NOW_S + 10))
    write("jwt", "signed-es256-crit", b"\x01\x02" + b'{"alg":"ES256","crit":["b64"]}' + b"\x00" +
          claims())
    # P-256's generator is a valid public point; the RSA modulus needs only the right size.
    gx = "axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpY"
    gy = "T-NC4v4af5uO5-tKfA-eFivOM1drMV7Oy7ZAaDe_UfU"
    n = b64url((1 << 2047 | 0xFFFF).to_bytes(256, "big"))
    write("jwt", "jwks-ec-rsa", b"\x02" + json.dumps({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "e9", "use": "sig", "x": gx, "y": gy},
        {"kty": "RSA", "kid": "r9", "alg": "RS256", "n": n, "e": "AQAB"},
        {"kty": "oct", "k": "c2VjcmV0"}]}).encode())
    write("jwt", "jwks-weak", b"\x02" + json.dumps({"keys": [
        {"kty": "RSA", "n": b64url((1 << 1023 | 1).to_bytes(128, "big")), "e": "AQAB"},
        {"kty": "EC", "crv": "P-384", "x": gx, "y": gy}]}).encode())


# ---- config: YAML, then NUL and MODQ_* entries ----
def seeds_config():
    with open(os.path.join(SRC, "worker", "modq-worker.example.yaml"), "rb") as f:
        example = f.read()
    example = example.replace(b"/var/run/secrets/jwt/hs256", b"@DIR@/hs256")
    example = example.replace(b"/var/run/secrets/kafka/password", b"@DIR@/password")
    write("config", "example", example)
    write("config", "minimal-env", b"http:\n  listen: 0.0.0.0:8080\n\x00"
          b"MODQ_JWT_HS256_SECRET_FILE=@DIR@/hs256\nMODQ_JWT_AUDIENCE=modq\n"
          b"MODQ_KAFKA_BOOTSTRAP_SERVERS=k:9092\nMODQ_HTTP_QA_SAMPLE_RATE=0.25\n")
    write("config", "keys-and-lists", b"""jwt:
  algorithms: [RS256, ES256]
  jwks_file: /etc/modq/jwks.json
  issuer: modq
fetch:
  file_root: /srv/media
  allowed_hosts: [media.example, "cdn.example:8443"]
decided:
  auto_verdicts: [remove]
kafka_secret_files:
  ssl.key.password: "@DIR@/password"
log:
  level: debug
worker:
  demo: true
  id: w-1
""")
    write("config", "env-only", b"\x00MODQ_WORKER_GRACE_SECONDS=5\nMODQ_LOG_LEVEL=warn\n"
          b"MODQ_MEDIA_FORMAT=jpeg\nMODQ_KAFKA_SASL_PASSWORD=p\n")


def main():
    """Every harness's seeds, or only those of the harnesses named on the command line."""
    only = set(sys.argv[1:])
    imgs = images() if not only or only & {"media", "ticket", "review"} else {}
    for harness, seeds in (("offsets", seeds_offsets), ("ledger", seeds_ledger),
                           ("media", lambda: seeds_media(imgs)),
                           ("ticket", lambda: seeds_ticket(imgs)), ("jwt", seeds_jwt),
                           ("config", seeds_config), ("review", lambda: seeds_review(imgs))):
        if not only or harness in only:
            seeds()


if __name__ == "__main__":
    sys.exit(main())
