#!/usr/bin/python3
"""Checks that the worker config the chart renders is one modq-worker accepts, as the pod runs it.

Helm cannot be installed here, so the chart is rendered by helm_render.py (beside this file: a
Go-template engine for what the chart uses; anything outside it fails the test rather than being
guessed). For values.yaml and each ci/*-values.yaml (and once with policy.content set, once with
the fleet keys set in mode single), and for each role whose Deployment the values render (all in
mode single; prepare and desk in mode fleet), it:
  1. renders the config ("modq.workerConfig") and checks its section and key names against
     worker/modq-worker.example.yaml (kafka: is free-form, checked by librdkafka);
  2. checks that the role's rendered Deployment sets exactly the MODQ_* environment this test
     expects from the values (worker.role, static membership, the desk's session timeout,
     Secret file paths), lays out the pod's files under a temporary root (config, policy,
     Secrets, bank files), sets that environment, and runs `modq-worker --check-config`;
  3. compares the effective configuration with the values (each value landed on its key, and
     worker.role is the Deployment's role).
It also checks that the Deployment sets no MODQ_* variable this test does not know; that the
liveness and readiness probes and the ServiceMonitor use the probe listener (the container port
named probe is the port of MODQ_HTTP_PROBE_LISTEN, and the Service exposes it), not the API's
port that API clients can fill; and, as controls, that modq-worker refuses a config with a
misspelt key and that the probe check notices probes moved back to the API's port.

Usage: test_helm_config.py CHART_DIR MODQ_WORKER SOURCE_DIR
"""
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

from helm_render import Chart, Unsupported, merge_values

POD = "modq-5d8f7c9b6-x2kqz"  # what fieldRef metadata.name gives a Deployment's pod
SECRETS = "/var/run/secrets/modq"  # $secretDir in deployment.yaml


def merge(base, over):
    """Helm's values merge (helm_render.merge_values)."""
    return merge_values(base, over)


def roles_of(values):
    """The worker.role of each Deployment the chart renders for these values."""
    return ["prepare", "desk"] if values["mode"] == "fleet" else ["all"]


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


def pod_env(values, role):
    """The MODQ_* environment deployment.yaml sets for these values in a pod of this role."""
    env = {"MODQ_HTTP_LISTEN": "0.0.0.0:8080", "MODQ_HTTP_PROBE_LISTEN": "0.0.0.0:8081",
           "MODQ_WORKER_ID": POD}
    if role != "all":
        env["MODQ_WORKER_ROLE"] = role
    # A desk never has a static member id: it must leave the desk group as it stops.
    if values["kafka"]["staticMembership"] and role != "desk":
        env["MODQ_CONSUMER_GROUP_INSTANCE_ID"] = POD
    if role == "desk" and values["desk"]["sessionTimeoutMs"]:
        env["MODQ_KAFKA_SESSION_TIMEOUT_MS"] = str(values["desk"]["sessionTimeoutMs"])
        env["MODQ_KAFKA_HEARTBEAT_INTERVAL_MS"] = str(values["desk"]["sessionTimeoutMs"] // 3)
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
    ("consumer.deskGroupId", "consumer.desk_group_id"),
    ("topics.decisions", "topics.decisions"),
    ("topics.wellbeing", "topics.wellbeing"),
    ("topics.audit", "topics.audit"),
    ("topics.deadLetter", "topics.dead_letter"),
    ("topics.ledgers", "topics.ledgers"),
    ("topics.review", "topics.review"),
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


def rendered_env(deployment):
    """{name: value} of the MODQ_* variables of a rendered Deployment's worker container; the pod
    name (fieldRef metadata.name) as POD."""
    env = {}
    for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]:
        if not e["name"].startswith("MODQ_"):
            continue
        if "value" in e:
            env[e["name"]] = e["value"]
        elif e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") == "metadata.name":
            env[e["name"]] = POD
        else:
            env[e["name"]] = repr(e.get("valueFrom"))
    return env


def check_variant(name, values, role, chart, example, worker, source, tmp):
    problems = []
    text = chart.include("modq.workerConfig", values)
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as e:
        return [f"rendered config is not YAML: {e}"]
    problems += [f"unknown key {k}" for k in unknown_keys(config, example)]

    # The pod's filesystem, under root: what the package installs, the ConfigMap and Secrets.
    root = os.path.join(tmp, name.replace("/", "_").replace(" ", "_") + "-" + role)
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
    env_files = pod_env(values, role)
    # The Deployment of this role sets exactly that environment.
    deployments = [obj for _, obj in chart.manifests(values) if obj["kind"] == "Deployment" and
                   obj["spec"]["template"]["metadata"]["labels"].get(
                       "app.kubernetes.io/component", "all") == role]
    if len(deployments) != 1:
        problems.append(f"{len(deployments)} Deployments of role {role} rendered")
    elif rendered_env(deployments[0]) != env_files:
        problems.append(f"the Deployment sets {rendered_env(deployments[0])}, expected "
                        f"{env_files}")
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
    kafka_want = {k: v if isinstance(v, str) else json.dumps(v)
                  for k, v in values["kafka"]["properties"].items()}
    if role == "desk" and values["desk"]["sessionTimeoutMs"]:
        kafka_want["session.timeout.ms"] = str(values["desk"]["sessionTimeoutMs"])
        kafka_want["heartbeat.interval.ms"] = str(values["desk"]["sessionTimeoutMs"] // 3)
    for k, want in kafka_want.items():
        v = values["kafka"]["properties"].get(k)
        if eff["kafka"].get(k) != want:
            problems.append(f"kafka.properties.{k}={v!r} but kafka.{k}={eff['kafka'].get(k)!r}")
    policy = "/etc/modq/policy.yaml" if values["policy"]["content"] else \
        "/usr/share/modq/default.yaml"
    checks = [("worker.policy", root + policy), ("worker.id", POD), ("worker.demo", False),
              ("worker.role", role),
              ("http.listen", "0.0.0.0:8080"), ("http.probe_listen", "0.0.0.0:8081"),
              ("http.static_dir", root + "/usr/share/modq/web"),
              ("consumer.group_instance_id",
               POD if values["kafka"]["staticMembership"] and role != "desk" else ""),
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
    chart_dir, worker, source = sys.argv[1:4]
    chart = Chart(chart_dir)
    with open(os.path.join(chart_dir, "templates", "deployment.yaml")) as f:
        deployment = f.read()
    defaults = chart.defaults
    with open(os.path.join(source, "worker", "modq-worker.example.yaml")) as f:
        example = yaml.safe_load(f)
    failed = 0

    # Every MODQ_* variable of the Deployment must be one this test sets (and so checks).
    known = {"MODQ_HTTP_LISTEN", "MODQ_HTTP_PROBE_LISTEN", "MODQ_WORKER_ID",
             "MODQ_CONSUMER_GROUP_INSTANCE_ID", "MODQ_JWT_HS256_SECRET_FILE", "MODQ_JWT_JWKS_FILE",
             "MODQ_KAFKA_SASL_PASSWORD_FILE", "MODQ_KAFKA_SSL_CA_LOCATION", "MODQ_WORKER_ROLE",
             "MODQ_KAFKA_SESSION_TIMEOUT_MS", "MODQ_KAFKA_HEARTBEAT_INTERVAL_MS"}
    in_template = set(re.findall(r"name: (MODQ_[A-Z0-9_]+)", deployment))
    if in_template != known:
        print(f"FAIL: deployment.yaml sets {sorted(in_template)}, this test knows {sorted(known)}")
        failed += 1

    with open(os.path.join(chart_dir, "templates", "service.yaml")) as f:
        service = f.read()
    with open(os.path.join(chart_dir, "templates", "servicemonitor.yaml")) as f:
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
    for path in sorted(glob.glob(os.path.join(chart_dir, "ci", "*-values.yaml"))):
        with open(path) as f:
            variants["ci/" + os.path.basename(path)] = merge(defaults, yaml.safe_load(f))
    with open(os.path.join(source, "policy", "default.yaml")) as f:
        variants["values.yaml + policy.content"] = merge(defaults,
                                                         {"policy": {"content": f.read()}})
    # Mode single writes the fleet keys only when they are not the worker's defaults: set, they
    # must still land (a group named modq-desk then needs another desk group).
    variants["values.yaml + consumer.groupId modq-desk"] = merge(defaults, {
        "consumer": {"groupId": "modq-desk", "deskGroupId": "modq-desk-standby"},
        "topics": {"review": "moderation.review"}})

    with tempfile.TemporaryDirectory() as tmp:
        for name, values in variants.items():
            for role in roles_of(values):
                try:
                    problems = check_variant(name, values, role, chart, example, worker, source,
                                             tmp)
                except Unsupported as e:
                    problems = [f"the chart uses {e}, outside helm_render.py's template subset"]
                print(("FAIL" if problems else "ok  ") + f": {name}, role {role}")
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
