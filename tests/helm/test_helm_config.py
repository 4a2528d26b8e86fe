#!/usr/bin/python3
"""Checks that the worker config the chart renders is one modq-worker accepts, as the pod runs it.

Helm cannot be installed here, so "modq.workerConfig" (templates/_helpers.tpl) is rendered with a
small Go-template subset (below: .Values paths, $variables, string literals, | toJson | quote,
if/else/end, range $k, $v := ...); anything outside it fails the test rather than being guessed.
For values.yaml and each ci/*-values.yaml (and once with policy.content set), it:
  1. renders the config and checks its section and key names against
     worker/modq-worker.example.yaml (kafka: is free-form, checked by librdkafka);
  2. lays out the pod's files under a temporary root (config, policy, Secrets, bank files),
     sets the MODQ_* environment the Deployment sets, and runs `modq-worker --check-config`;
  3. compares the effective configuration with the values (each value landed on its key).
It also checks that the Deployment sets no MODQ_* variable this test does not know; that the
liveness and readiness probes and the ServiceMonitor use the probe listener (the container port
named probe is the port of MODQ_HTTP_PROBE_LISTEN, and the Service exposes it), not the API's
port that API clients can fill; and, as controls, that modq-worker refuses a config with a
misspelt key and that the probe check notices probes moved back to the API's port.

Usage: test_helm_config.py CHART_DIR MODQ_WORKER SOURCE_DIR
"""
import copy
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

POD = "modq-5d8f7c9b6-x2kqz"  # what fieldRef metadata.name gives a Deployment's pod
SECRETS = "/var/run/secrets/modq"  # $secretDir in deployment.yaml


# --- a Go text/template subset ------------------------------------------------------------------

class Unsupported(Exception):
    pass


ACTION_RE = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.S)


def tokenize(text):
    """[('text', s) | ('action', s)] with Go's {{- and -}} whitespace trimming applied."""
    out, pos, trim_next = [], 0, False
    for m in ACTION_RE.finditer(text):
        chunk = text[pos:m.start()]
        if trim_next:
            chunk = chunk.lstrip(" \t\r\n")
        if m.group(1):
            chunk = chunk.rstrip(" \t\r\n")
        out.append(("text", chunk))
        out.append(("action", m.group(2).strip()))
        trim_next = bool(m.group(3))
        pos = m.end()
    chunk = text[pos:]
    out.append(("text", chunk.lstrip(" \t\r\n") if trim_next else chunk))
    return out


def define_body(tokens, name):
    """The tokens inside {{ define "name" }} ... its matching {{ end }}."""
    depth, body, inside = 0, [], False
    for kind, s in tokens:
        if not inside:
            inside = kind == "action" and s == f'define "{name}"'
            continue
        if kind == "action":
            word = s.split(None, 1)[0] if s else ""
            if word in ("if", "range", "with", "define", "block"):
                depth += 1
            elif word == "end":
                if depth == 0:
                    return body
                depth -= 1
        body.append((kind, s))
    raise Unsupported(f'no complete define "{name}"')


def parse(tokens, i=0, stop=("end",)):
    """A node list up to one of stop; returns (nodes, index of the stopping action, its word)."""
    nodes = []
    while i < len(tokens):
        kind, s = tokens[i]
        if kind == "text":
            nodes.append(("text", s))
            i += 1
            continue
        if s.startswith("/*"):
            i += 1
            continue
        word = s.split(None, 1)[0]
        if word in stop:
            return nodes, i, word
        if word == "if":
            then, i, w = parse(tokens, i + 1, ("else", "end"))
            other = []
            if w == "else":
                if tokens[i][1] != "else":
                    raise Unsupported(f"{{{{ {tokens[i][1]} }}}}")
                other, i, _ = parse(tokens, i + 1, ("end",))
            nodes.append(("if", s[2:].strip(), then, other))
            i += 1
        elif word == "range":
            m = re.fullmatch(r"range\s+\$(\w+)\s*,\s*\$(\w+)\s*:=\s*(.+)", s)
            if not m:
                raise Unsupported(f"{{{{ {s} }}}}")
            body, i, _ = parse(tokens, i + 1, ("end",))
            nodes.append(("range", m.group(1), m.group(2), m.group(3), body))
            i += 1
        elif word in ("else", "end", "with", "define", "block", "template", "include"):
            raise Unsupported(f"{{{{ {s} }}}}")
        else:
            nodes.append(("expr", s))
            i += 1
    return nodes, i, None


def evaluate(pipeline, values, scope):
    parts = [p.strip() for p in pipeline.split("|")]
    head = parts[0]
    if head.startswith(".Values.") or head == ".Values":
        v = values
        for k in head.split(".")[2:]:
            v = v.get(k) if isinstance(v, dict) else None
    elif re.fullmatch(r"\$\w+", head):
        v = scope[head[1:]]
    elif re.fullmatch(r'"[^"\\]*"', head):
        v = head[1:-1]
    else:
        raise Unsupported(f"argument {head!r}")
    for fn in parts[1:]:
        if fn == "toJson":
            v = json.dumps(v, separators=(",", ":"), sort_keys=True)  # as Go encodes maps
        elif fn == "quote":
            v = json.dumps("" if v is None else str(v))
        else:
            raise Unsupported(f"function {fn!r}")
    return v


def truthy(v):
    return v not in (None, False, 0, "", [], {})


def execute(nodes, values, scope):
    out = []
    for n in nodes:
        if n[0] == "text":
            out.append(n[1])
        elif n[0] == "expr":
            v = evaluate(n[1], values, scope)
            out.append("" if v is None else v if isinstance(v, str) else str(v))
        elif n[0] == "if":
            branch = n[2] if truthy(evaluate(n[1], values, scope)) else n[3]
            out.append(execute(branch, values, scope))
        elif n[0] == "range":
            coll = evaluate(n[3], values, scope) or {}
            if not isinstance(coll, dict):
                raise Unsupported("range over a non-mapping")
            for k in sorted(coll):  # Go ranges over a map in key order
                out.append(execute(n[4], values, dict(scope, **{n[1]: k, n[2]: coll[k]})))
    return "".join(out)


def render_worker_config(helpers_text, values):
    nodes, _, _ = parse(define_body(tokenize(helpers_text), "modq.workerConfig"))
    return execute(nodes, values, {})


# --- the checks ---------------------------------------------------------------------------------

def merge(base, over):
    """Helm's values merge: maps merge key by key, anything else replaces; null deletes."""
    out = copy.deepcopy(base)
    for k, v in over.items():
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def unknown_keys(config, example):
    bad = [s for s in config if s not in example]
    for section, body in config.items():
        if section in ("kafka", "kafka_secret_files") or section not in example:
            continue
        if section == "banks":
            known = set(example["banks"][0])
            bad += [f"banks[].{k}" for b in body for k in b if k not in known]
        elif isinstance(body, dict):
            bad += [f"{section}.{k}" for k in body if k not in example[section]]
    return bad


def pod_env(values):
    """The MODQ_* environment deployment.yaml sets for these values."""
    env = {"MODQ_HTTP_LISTEN": "0.0.0.0:8080", "MODQ_HTTP_PROBE_LISTEN": "0.0.0.0:8081",
           "MODQ_WORKER_ID": POD}
    if values["kafka"]["staticMembership"]:
        env["MODQ_CONSUMER_GROUP_INSTANCE_ID"] = POD
    for var, ref, sub in (("MODQ_JWT_HS256_SECRET_FILE", values["jwt"]["hs256Secret"], "jwt-hs256"),
                          ("MODQ_JWT_JWKS_FILE", values["jwt"]["jwksSecret"], "jwt-jwks"),
                          ("MODQ_KAFKA_SASL_PASSWORD_FILE", values["kafka"]["saslPasswordSecret"],
                           "kafka-sasl"),
                          ("MODQ_KAFKA_SSL_CA_LOCATION", values["kafka"]["tlsCaSecret"],
                           "kafka-ca")):
        if ref["name"]:
            env[var] = f"{SECRETS}/{sub}/{ref['key']}"
    return env


EXPECT = [  # (values path, effective configuration path)
    ("worker.graceSeconds", "worker.grace_seconds"),
    ("worker.prepareThreads", "worker.prepare_threads"),
    ("worker.windowPerQueue", "worker.window_per_queue"),
    ("worker.logLevel", "log.level"),
    ("consumer.groupId", "consumer.group_id"),
    ("consumer.metadataCapBytes", "consumer.metadata_cap_bytes"),
    ("topics.decisions", "topics.decisions"),
    ("topics.wellbeing", "topics.wellbeing"),
    ("topics.audit", "topics.audit"),
    ("topics.deadLetter", "topics.dead_letter"),
    ("topics.ledgers", "topics.ledgers"),
    ("decided.retentionHours", "decided.retention_hours"),
    ("decided.maxEntries", "decided.max_entries"),
    ("decided.autoVerdicts", "decided.auto_verdicts"),
    ("media.maxInputBytes", "media.max_input_bytes"),
    ("media.maxPixels", "media.max_pixels"),
    ("media.maxSide", "media.max_side"),
    ("media.displaySize", "media.display_size"),
    ("media.format", "media.format"),
    ("media.quality", "media.quality"),
    ("media.deadlineMs", "media.deadline_ms"),
    ("media.maxJpegScans", "media.max_jpeg_scans"),
    ("sandbox.enabled", "sandbox.enabled"),
    ("sandbox.memoryMb", "sandbox.memory_mb"),
    ("sandbox.timeoutMs", "sandbox.timeout_ms"),
    ("sandbox.cpuSeconds", "sandbox.cpu_seconds"),
    ("sandbox.maxItems", "sandbox.max_items"),
    ("fetch.allowedHosts", "fetch.allowed_hosts"),
    ("fetch.maxBytes", "fetch.max_bytes"),
    ("fetch.timeoutMs", "fetch.timeout_ms"),
    ("http.leaseSeconds", "http.lease_seconds"),
    ("http.threads", "http.threads"),
    ("http.maxConnections", "http.max_connections"),
    ("http.perIpConnections", "http.per_ip_connections"),
    ("http.requestTimeoutSeconds", "http.request_timeout_seconds"),
    ("http.qaSampleRate", "http.qa_sample_rate"),
    ("jwt.issuer", "jwt.issuer"),
    ("jwt.audience", "jwt.audience"),
    ("jwt.algorithms", "jwt.algorithms"),
    ("kafka.bootstrapServers", "kafka.bootstrap.servers"),
]


def get(d, dotted):
    if dotted.startswith("kafka."):
        return d.get("kafka", {}).get(dotted[len("kafka."):])
    for k in dotted.split("."):
        d = d.get(k) if isinstance(d, dict) else None
    return d


def check_variant(name, values, helpers, example, worker, source, tmp):
    problems = []
    text = render_worker_config(helpers, values)
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        return [f"rendered config is not YAML: {e}"]
    problems += [f"unknown key {k}" for k in unknown_keys(config, example)]

    # The pod's filesystem, under root: what the package installs, the ConfigMap and Secrets.
    root = os.path.join(tmp, name.replace("/", "_"))
    def place(path, content):
        full = root + path
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(content)
    with open(os.path.join(source, "policy", "default.yaml")) as f:
        place("/usr/share/modq/default.yaml", f.read())
    os.makedirs(root + "/usr/share/modq/web", exist_ok=True)
    if values["policy"]["content"]:
        place("/etc/modq/policy.yaml", values["policy"]["content"])
    for bank in values["banks"]:
        place(bank["file"], "")
    env_files = pod_env(values)
    for var, path in env_files.items():
        if path.startswith(SECRETS):
            place(path, '{"keys": []}\n' if var == "MODQ_JWT_JWKS_FILE" else "not-a-real-secret\n")
    # Absolute paths of the pod are re-rooted; the config text itself is otherwise as rendered.
    rerooted = re.sub(r'(?<=[\s"\[])/(usr|etc|var)/', lambda m: root + m.group(0), text)
    place("/etc/modq/config.yaml", rerooted)

    env = {k: v for k, v in os.environ.items() if not k.startswith("MODQ_")}
    env.update({k: (root + v if v.startswith("/") else v) for k, v in env_files.items()})
    r = subprocess.run([worker, "--config", root + "/etc/modq/config.yaml", "--check-config"],
                       cwd=root, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        return problems + [f"modq-worker --check-config exit {r.returncode}: {r.stderr.strip()}"]
    eff = json.loads(r.stdout)

    for vpath, cpath in EXPECT:
        want, got = get(values, vpath), get(eff, cpath)
        if want != got:
            problems.append(f"{vpath}={want!r} but {cpath}={got!r}")
    for k, v in values["kafka"]["properties"].items():
        want = v if isinstance(v, str) else json.dumps(v)
        if eff["kafka"].get(k) != want:
            problems.append(f"kafka.properties.{k}={v!r} but kafka.{k}={eff['kafka'].get(k)!r}")
    policy = "/etc/modq/policy.yaml" if values["policy"]["content"] else \
        "/usr/share/modq/default.yaml"
    checks = [("worker.policy", root + policy), ("worker.id", POD), ("worker.demo", False),
              ("http.listen", "0.0.0.0:8080"), ("http.probe_listen", "0.0.0.0:8081"),
              ("http.static_dir", root + "/usr/share/modq/web"),
              ("consumer.group_instance_id",
               POD if values["kafka"]["staticMembership"] else ""),
              ("fetch.file_root", "")]
    for cpath, want in checks:
        if get(eff, cpath) != want:
            problems.append(f"{cpath} is {get(eff, cpath)!r}, want {want!r}")
    if values["kafka"]["saslPasswordSecret"]["name"] and \
            "sasl.password" not in eff["kafka_secret_files"]:
        problems.append("the SASL password Secret did not reach kafka_secret_files.sasl.password")
    if values["kafka"]["tlsCaSecret"]["name"] and not \
            eff["kafka"].get("ssl.ca.location", "").endswith(values["kafka"]["tlsCaSecret"]["key"]):
        problems.append("the CA Secret did not reach kafka.ssl.ca.location")
    if [b["name"] for b in eff["banks"]] != [b["name"] for b in values["banks"]]:
        problems.append(f"banks: {eff['banks']!r}")
    return problems


def probe_wiring(deployment, service, servicemonitor):
    """Problems with where the probes and the scrape go (texts of the three templates)."""
    problems = []
    ports = dict(re.findall(r"- name: (\w+)\n\s+containerPort: (\d+)", deployment))
    env = dict(re.findall(r'- name: (MODQ_HTTP_\w*LISTEN)\n\s+value: "([^"]*)"', deployment))
    for var, name in (("MODQ_HTTP_LISTEN", "http"), ("MODQ_HTTP_PROBE_LISTEN", "probe")):
        if env.get(var, "").rpartition(":")[2] != ports.get(name):
            problems.append(f"{var}={env.get(var)!r} but container port {name} is "
                            f"{ports.get(name)!r}")
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        m = re.search(probe + r":\n\s+httpGet:\n\s+path: (\S+)\n\s+port: (\S+)", deployment)
        if not m or m.groups() != (path, "probe"):
            problems.append(f"{probe} is {m.groups() if m else None}, want ({path!r}, 'probe')")
    if not re.search(r"- name: probe\n\s+port: \d+\n\s+targetPort: probe", service):
        problems.append("the Service exposes no probe port")
    if not re.search(r"- port: probe\n\s+path: /metrics", servicemonitor):
        problems.append("the ServiceMonitor does not scrape /metrics on the probe port")
    return problems


def main():
    chart, worker, source = sys.argv[1:4]
    with open(os.path.join(chart, "templates", "_helpers.tpl")) as f:
        helpers = f.read()
    with open(os.path.join(chart, "templates", "deployment.yaml")) as f:
        deployment = f.read()
    with open(os.path.join(chart, "values.yaml")) as f:
        defaults = yaml.safe_load(f)
    with open(os.path.join(source, "worker", "modq-worker.example.yaml")) as f:
        example = yaml.safe_load(f)
    failed = 0

    # Every MODQ_* variable of the Deployment must be one this test sets (and so checks).
    known = {"MODQ_HTTP_LISTEN", "MODQ_HTTP_PROBE_LISTEN", "MODQ_WORKER_ID", "MODQ_CONSUMER_GROUP_INSTANCE_ID",
             "MODQ_JWT_HS256_SECRET_FILE", "MODQ_JWT_JWKS_FILE", "MODQ_KAFKA_SASL_PASSWORD_FILE",
             "MODQ_KAFKA_SSL_CA_LOCATION"}
    in_template = set(re.findall(r"name: (MODQ_[A-Z0-9_]+)", deployment))
    if in_template != known:
        print(f"FAIL: deployment.yaml sets {sorted(in_template)}, this test knows {sorted(known)}")
        failed += 1

    with open(os.path.join(chart, "templates", "service.yaml")) as f:
        service = f.read()
    with open(os.path.join(chart, "templates", "servicemonitor.yaml")) as f:
        servicemonitor = f.read()
    problems = probe_wiring(deployment, service, servicemonitor)
    print(("FAIL" if problems else "ok  ") + ": probes and scrape on the probe listener")
    for p in problems:
        print("      " + p)
    failed += bool(problems)
    # Control: probes moved back to the API's port are noticed.
    moved = deployment.replace("port: probe", "port: http")
    if len(probe_wiring(moved, service, servicemonitor)) != 2:
        print("FAIL: control: the probe check missed probes on the API's port")
        failed += 1

    variants = {"values.yaml": defaults}
    for path in sorted(glob.glob(os.path.join(chart, "ci", "*-values.yaml"))):
        with open(path) as f:
            variants["ci/" + os.path.basename(path)] = merge(defaults, yaml.safe_load(f))
    with open(os.path.join(source, "policy", "default.yaml")) as f:
        variants["values.yaml + policy.content"] = merge(defaults,
                                                         {"policy": {"content": f.read()}})

    with tempfile.TemporaryDirectory() as tmp:
        for name, values in variants.items():
            try:
                problems = check_variant(name, values, helpers, example, worker, source, tmp)
            except Unsupported as e:
                problems = [f"modq.workerConfig uses {e}, outside this test's template subset"]
            print(("FAIL" if problems else "ok  ") + f": {name}")
            for p in problems:
                print("      " + p)
            failed += bool(problems)

        # Control: the same run refuses a misspelt key, so a passing run means something.
        bad = os.path.join(tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("media:\n  max_pixel: 100\n")
        r = subprocess.run([worker, "--config", bad, "--check-config"], cwd=tmp,
                           capture_output=True, text=True)
        if r.returncode == 0:
            print("FAIL: control: modq-worker accepted media.max_pixel")
            failed += 1
        if unknown_keys({"media": {"max_pixel": 1}}, example) != ["media.max_pixel"]:
            print("FAIL: control: the key-name check missed media.max_pixel")
            failed += 1

    print(f"{failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
