#!/usr/bin/python3
"""Renders helm/modq for each values variant (helm_render.py, as `helm template` would) and checks
the Kubernetes objects it makes, in both modes.

Every variant: each document parses and has a kind and a name, unique per kind; each
Deployment's selector matches its own pod template and no other Deployment's pods; the probes use
the probe port; each PodDisruptionBudget selects the pods of exactly one Deployment, and no pod has
two budgets; the Ingress, the HPA / ScaledObject and the ServiceMonitor name objects that exist.

Mode single (values.yaml, ci/full-values.yaml, ci/hpa-values.yaml): one Deployment named after
the release, of role all (no MODQ_WORKER_ROLE); the Service, the budget and the autoscaler aim at
its pods; no prepare, desk or metrics object.

Mode fleet (ci/fleet*-values.yaml): Deployments <release>-prepare and <release>-desk with
MODQ_WORKER_ROLE prepare and desk and their own sizes; the Service (and so the Ingress) selects
desk pods only; the desk's readinessProbe is /readyz (503 on a standby), its rollout replaces every
old desk at once, it has no group instance id and its own session timeout; its budget is
minAvailable 0 and the prepare pods' maxUnavailable; the HPA or ScaledObject targets the prepare
Deployment on consumer.groupId and nothing targets the desk; the config has topics.review and
consumer.desk_group_id; a headless metrics Service, which the ServiceMonitor selects, has every
pod; NOTES.txt says the review topic needs exactly one partition.

Refusals: the chart fails, with a message, for mode fleet with autoscaling.* enabled, for both
prepare autoscalers, and for a desk group named as the ticket group.

Controls: each check is fed a broken rendering (the Service over every pod, a desk budget of 1,
the scaler on the desk, a desk of role prepare, a role in mode single, ...) and must report it;
and the renderer must refuse a function it does not implement rather than guess.

Usage: test_helm_render.py CHART_DIR     (needs python3-yaml)
"""
import copy
import glob
import os
import sys

import yaml

from helm_render import (Chart, Engine, Failed, Scope, Unsupported, go_float, lex, parse,
                         to_json)

RELEASE = "modq"  # Chart's default release name; fullname is then "modq"


def deployments(objs):
    return {o["metadata"]["name"]: o for o in objs if o["kind"] == "Deployment"}


def pod_labels(dep):
    return dep["spec"]["template"]["metadata"]["labels"]


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def selected(selector, deps):
    """Names of the Deployments whose pods the label selector selects."""
    return sorted(n for n, d in deps.items() if selects(selector, pod_labels(d)))


def env_of(dep):
    out = {}
    for e in dep["spec"]["template"]["spec"]["containers"][0].get("env", []):
        out[e["name"]] = e.get("value", e.get("valueFrom"))
    return out


def of_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


def service(objs, name):
    for o in of_kind(objs, "Service"):
        if o["metadata"]["name"] == name:
            return o
    return None


def check_common(objs):
    problems = []
    seen = set()
    for o in objs:
        if not isinstance(o, dict) or not o.get("kind") or not o.get("metadata", {}).get("name"):
            problems.append(f"a document without kind or name: {str(o)[:80]}")
            continue
        key = (o["kind"], o["metadata"]["name"])
        if key in seen:
            problems.append(f"two {key[0]} named {key[1]}")
        seen.add(key)
    deps = deployments(objs)
    for name, d in deps.items():
        sel = d["spec"]["selector"]["matchLabels"]
        if selected(sel, deps) != [name]:
            problems.append(f"Deployment {name}'s selector selects the pods of "
                            f"{selected(sel, deps)}")
        c = d["spec"]["template"]["spec"]["containers"][0]
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            got = c.get(probe, {}).get("httpGet", {})
            if (got.get("path"), got.get("port")) != (path, "probe"):
                problems.append(f"Deployment {name}: {probe} is {got}, want {path} on probe")
    budgets = {}
    for p in of_kind(objs, "PodDisruptionBudget"):
        sel = selected(p["spec"]["selector"]["matchLabels"], deps)
        if len(sel) != 1:
            problems.append(f"PodDisruptionBudget {p['metadata']['name']} selects the pods of "
                            f"{sel}, not of one Deployment")
        for n in sel:
            budgets.setdefault(n, []).append(p["metadata"]["name"])
    for n, b in budgets.items():
        if len(b) > 1:
            problems.append(f"the pods of {n} have {len(b)} budgets {b} (eviction refuses that)")
    for ing in of_kind(objs, "Ingress"):
        for rule in ing["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                name = path["backend"]["service"]["name"]
                if service(objs, name) is None:
                    problems.append(f"the Ingress routes to a Service {name} that is not there")
    for s in of_kind(objs, "HorizontalPodAutoscaler") + of_kind(objs, "ScaledObject"):
        target = s["spec"]["scaleTargetRef"]["name"]
        if target not in deps:
            problems.append(f"{s['kind']} targets a Deployment {target} that is not there")
    for sm in of_kind(objs, "ServiceMonitor"):
        sel = sm["spec"]["selector"]["matchLabels"]
        hits = [s["metadata"]["name"] for s in of_kind(objs, "Service")
                if selects(sel, s["metadata"].get("labels", {}))]
        if len(hits) != 1:
            problems.append(f"the ServiceMonitor selects the Services {hits}, not one")
    return problems


def check_single(values, objs):
    problems = []
    deps = deployments(objs)
    if list(deps) != [RELEASE]:
        return [f"mode single renders the Deployments {sorted(deps)}, want [{RELEASE!r}]"]
    dep = deps[RELEASE]
    if "MODQ_WORKER_ROLE" in env_of(dep):
        problems.append("mode single sets MODQ_WORKER_ROLE (role all is the worker's default)")
    if "app.kubernetes.io/component" in pod_labels(dep):
        problems.append("mode single's pods have a component label (their selector changed)")
    autoscaled = values["autoscaling"]["hpa"]["enabled"] or values["autoscaling"]["keda"]["enabled"]
    if ("replicas" in dep["spec"]) == autoscaled:
        problems.append(f"replicas is {dep['spec'].get('replicas')} with autoscaling {autoscaled}")
    if dep["spec"]["template"]["spec"]["containers"][0]["resources"] != values["resources"]:
        problems.append("the container's resources are not resources")
    svc = service(objs, RELEASE)
    if svc is None or selected(svc["spec"]["selector"], deps) != [RELEASE]:
        problems.append("the Service does not select the pods of the Deployment")
    pdbs = of_kind(objs, "PodDisruptionBudget")
    if values["pdb"]["enabled"] != bool(pdbs) or (
            pdbs and pdbs[0]["spec"].get("maxUnavailable") != values["pdb"]["maxUnavailable"]):
        problems.append(f"the PodDisruptionBudgets are {[p['spec'] for p in pdbs]}")
    for s in of_kind(objs, "HorizontalPodAutoscaler") + of_kind(objs, "ScaledObject"):
        if s["spec"]["scaleTargetRef"]["name"] != RELEASE:
            problems.append(f"{s['kind']} targets {s['spec']['scaleTargetRef']['name']}")
    for o in objs:
        if o["metadata"]["name"].endswith(("-prepare", "-desk", "-metrics")):
            problems.append(f"mode single renders {o['kind']} {o['metadata']['name']}")
    config = yaml.safe_load(next(o for o in objs if o["kind"] == "ConfigMap")["data"]
                            ["config.yaml"])
    if "role" in config["worker"]:
        problems.append("the config sets worker.role")
    return problems


def check_fleet(values, objs, notes):
    problems = []
    deps = deployments(objs)
    prep, desk = f"{RELEASE}-prepare", f"{RELEASE}-desk"
    if sorted(deps) != sorted([prep, desk]):
        return [f"mode fleet renders the Deployments {sorted(deps)}, want {[prep, desk]}"]
    p, d = deps[prep], deps[desk]
    pe, de = env_of(p), env_of(d)
    for name, env, role in ((prep, pe, "prepare"), (desk, de, "desk")):
        if env.get("MODQ_WORKER_ROLE") != role:
            problems.append(f"{name}: MODQ_WORKER_ROLE is {env.get('MODQ_WORKER_ROLE')!r}")
        if pod_labels(deps[name]).get("app.kubernetes.io/component") != role:
            problems.append(f"{name}: the pods are not labelled component {role}")
        block = values[role]
        if deps[name]["spec"]["template"]["spec"]["containers"][0]["resources"] != \
                block["resources"]:
            problems.append(f"{name}: the container's resources are not {role}.resources")

    # The prepare Deployment: what scales.
    auto = values["prepare"]["autoscaling"]
    autoscaled = auto["hpa"]["enabled"] or auto["keda"]["enabled"]
    if ("replicas" in p["spec"]) == autoscaled:
        problems.append(f"{prep}: replicas {p['spec'].get('replicas')} with autoscaling "
                        f"{autoscaled}")
    elif not autoscaled and p["spec"]["replicas"] != values["prepare"]["replicaCount"]:
        problems.append(f"{prep}: replicas is not prepare.replicaCount")
    if ("MODQ_CONSUMER_GROUP_INSTANCE_ID" in pe) != values["kafka"]["staticMembership"]:
        problems.append(f"{prep}: group instance id does not follow kafka.staticMembership")
    if p["spec"]["strategy"]["rollingUpdate"] != {"maxUnavailable": 0, "maxSurge": 1}:
        problems.append(f"{prep}: the rollout is {p['spec']['strategy']}, want one at a time")

    # The desk: a fixed number of pods, one active.
    if d["spec"].get("replicas") != values["desk"]["replicaCount"]:
        problems.append(f"{desk}: replicas is {d['spec'].get('replicas')}, want "
                        f"desk.replicaCount")
    if "MODQ_CONSUMER_GROUP_INSTANCE_ID" in de:
        problems.append(f"{desk}: a static member id (the desk must leave its group on exit)")
    if d["spec"]["strategy"].get("rollingUpdate", {}).get("maxUnavailable") != "100%":
        problems.append(f"{desk}: the rollout {d['spec']['strategy']} waits for a standby to be "
                        f"ready, which it never is")
    timeout = values["desk"]["sessionTimeoutMs"]
    want = {"MODQ_KAFKA_SESSION_TIMEOUT_MS": str(timeout),
            "MODQ_KAFKA_HEARTBEAT_INTERVAL_MS": str(timeout // 3)} if timeout else {}
    got = {k: v for k, v in de.items() if k.startswith("MODQ_KAFKA_") and "MS" in k}
    if got != want:
        problems.append(f"{desk}: session environment {got}, want {want}")
    if any(k in pe for k in want):
        problems.append(f"{prep}: has the desk's session timeout")
    spread = [c for c in d["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
              if c["topologyKey"] == "kubernetes.io/hostname"]
    if bool(spread) != values["desk"]["spreadAcrossNodes"]:
        problems.append(f"{desk}: hostname spread {spread} with spreadAcrossNodes "
                        f"{values['desk']['spreadAcrossNodes']}")
    for c in spread:
        if selected(c["labelSelector"]["matchLabels"], deps) != [desk]:
            problems.append(f"{desk}: the hostname spread counts pods of "
                            f"{selected(c['labelSelector']['matchLabels'], deps)}")

    # Associates reach the desk only.
    svc = service(objs, RELEASE)
    if svc is None or selected(svc["spec"]["selector"], deps) != [desk]:
        problems.append(f"the Service {RELEASE} selects the pods of "
                        f"{selected(svc['spec']['selector'], deps) if svc else None}, want "
                        f"[{desk!r}]")
    for ing in of_kind(objs, "Ingress"):
        names = {pa["backend"]["service"]["name"] for r in ing["spec"]["rules"]
                 for pa in r["http"]["paths"]}
        if names != {RELEASE}:
            problems.append(f"the Ingress routes to {names}")

    # Budgets: one per Deployment as enabled; the desk's minAvailable 0.
    pdbs = {selected(x["spec"]["selector"]["matchLabels"], deps)[0]: x["spec"]
            for x in of_kind(objs, "PodDisruptionBudget")
            if len(selected(x["spec"]["selector"]["matchLabels"], deps)) == 1}
    if (prep in pdbs) != values["prepare"]["pdb"]["enabled"] or (
            prep in pdbs and pdbs[prep].get("maxUnavailable") !=
            values["prepare"]["pdb"]["maxUnavailable"]):
        problems.append(f"the prepare budget is {pdbs.get(prep)}")
    if (desk in pdbs) != values["desk"]["pdb"]["enabled"]:
        problems.append(f"the desk budget is {pdbs.get(desk)} with desk.pdb.enabled "
                        f"{values['desk']['pdb']['enabled']}")
    elif desk in pdbs and (pdbs[desk].get("minAvailable") != 0 or "maxUnavailable" in pdbs[desk]
                           or "unhealthyPodEvictionPolicy" in pdbs[desk]):
        problems.append(f"the desk budget is {pdbs[desk]}: with only the active desk ever "
                        f"Ready, anything but minAvailable 0 blocks its node's drain for ever")

    # Scalers: the prepare Deployment only, on the ticket group.
    scalers = of_kind(objs, "HorizontalPodAutoscaler") + of_kind(objs, "ScaledObject")
    want_kinds = sorted(k for k, on in (("HorizontalPodAutoscaler", auto["hpa"]["enabled"]),
                                        ("ScaledObject", auto["keda"]["enabled"])) if on)
    if sorted(s["kind"] for s in scalers) != want_kinds:
        problems.append(f"scalers {[s['kind'] for s in scalers]}, want {want_kinds}")
    for s in scalers:
        if s["spec"]["scaleTargetRef"]["name"] != prep:
            problems.append(f"{s['kind']} targets {s['spec']['scaleTargetRef']['name']}, "
                            f"want {prep} (the desk is never autoscaled)")
        if s["kind"] == "ScaledObject":
            if s["spec"]["minReplicaCount"] != auto["keda"]["minReplicaCount"]:
                problems.append("the ScaledObject's minReplicaCount is not prepare's")
            for t in s["spec"]["triggers"]:
                if t["metadata"]["consumerGroup"] != values["consumer"]["groupId"]:
                    problems.append(f"the ScaledObject follows group "
                                    f"{t['metadata']['consumerGroup']}, not consumer.groupId")
        elif s["spec"]["maxReplicas"] != auto["hpa"]["maxReplicas"]:
            problems.append("the HPA's maxReplicas is not prepare's")

    # One config for both roles, with the fleet's keys; the role comes from the environment.
    config = yaml.safe_load(next(o for o in objs if o["kind"] == "ConfigMap")["data"]
                            ["config.yaml"])
    if config["consumer"].get("desk_group_id") != values["consumer"]["deskGroupId"] or \
            config["topics"].get("review") != values["topics"]["review"]:
        problems.append(f"the config has desk_group_id {config['consumer'].get('desk_group_id')}"
                        f" and review {config['topics'].get('review')}")
    if "role" in config["worker"]:
        problems.append("the shared config sets worker.role")

    # Metrics of every pod, standbys included.
    msvc = service(objs, f"{RELEASE}-metrics")
    if msvc is None or selected(msvc["spec"]["selector"], deps) != sorted([prep, desk]) or \
            not msvc["spec"].get("publishNotReadyAddresses"):
        problems.append("no metrics Service over every pod, NotReady ones included")
    for sm in of_kind(objs, "ServiceMonitor"):
        if msvc is None or not selects(sm["spec"]["selector"]["matchLabels"],
                                       msvc["metadata"]["labels"]) or \
                selects(sm["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"]):
            problems.append("the ServiceMonitor does not scrape through the metrics Service only")
    for np in of_kind(objs, "NetworkPolicy"):
        if selected(np["spec"]["podSelector"]["matchLabels"], deps) != sorted([prep, desk]):
            problems.append("the NetworkPolicy does not cover both roles")

    if values["topics"]["review"] not in notes or "exactly ONE partition" not in notes:
        problems.append("NOTES.txt does not say that topics.review needs exactly one partition")
    return problems


def main():
    chart_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ["MODQ_SOURCE_DIR"], "helm", "modq")
    chart = Chart(chart_dir, release=RELEASE)
    failed = 0

    variants = {"values.yaml": chart.values()}
    for path in sorted(glob.glob(os.path.join(chart_dir, "ci", "*-values.yaml"))):
        with open(path) as f:
            variants["ci/" + os.path.basename(path)] = chart.values(yaml.safe_load(f))
    modes = {v["mode"] for v in variants.values()}
    if modes != {"single", "fleet"}:
        print(f"FAIL: the variants cover modes {sorted(modes)}, want single and fleet")
        failed += 1

    rendered = {}
    for name, values in variants.items():
        try:
            objs = [o for _, o in chart.manifests(values)]
            notes = chart.render(values, notes=True)[f"{chart.base}/NOTES.txt"]
            problems = check_common(objs)
            if values["mode"] == "fleet":
                problems += check_fleet(values, objs, notes)
            else:
                problems += check_single(values, objs)
                if "Mode single" not in notes:
                    problems.append("NOTES.txt does not say the mode")
            rendered[name] = (values, objs, notes)
        except (Failed, Unsupported) as e:
            problems = [f"{type(e).__name__}: {e}"]
        print(("FAIL" if problems else "ok  ") + f": {name} (mode {values['mode']})")
        for p in problems:
            print("      " + p)
        failed += bool(problems)

    # Values the chart itself refuses (the schema sees one value at a time).
    fleet = {"mode": "fleet"}
    refused = [
        ("mode fleet with autoscaling.keda", dict(fleet, autoscaling={"keda": {"enabled": True}}),
         "prepare.autoscaling"),
        ("mode fleet with autoscaling.hpa", dict(fleet, autoscaling={"hpa": {"enabled": True}}),
         "prepare.autoscaling"),
        ("both prepare autoscalers",
         dict(fleet, prepare={"autoscaling": {"hpa": {"enabled": True},
                                              "keda": {"enabled": True}}}),
         "at most one"),
        ("the desk group named as the ticket group",
         {"consumer": {"groupId": "modq-desk"}}, "deskGroupId"),
        ("the same groups in mode fleet",
         dict(fleet, consumer={"groupId": "g", "deskGroupId": "g"}), "deskGroupId"),
    ]
    for what, patch, needle in refused:
        try:
            chart.render(chart.values(patch))
            ok, msg = False, "rendered"
        except Failed as e:
            ok, msg = needle in str(e), str(e)
        print(("ok  " if ok else "FAIL") + f": refused: {what}")
        print("      " + msg)
        failed += not ok

    # Controls: each check must notice a rendering broken the way it guards against.
    fleet_name = "ci/fleet-values.yaml"
    single_name = "values.yaml"
    controls = []
    if fleet_name in rendered and single_name in rendered:
        fv, fobjs, fnotes = rendered[fleet_name]
        sv, sobjs, _ = rendered[single_name]

        def broken(objs, kind, name, edit):
            objs = copy.deepcopy(objs)
            for o in objs:
                if o["kind"] == kind and o["metadata"]["name"] == name:
                    edit(o)
            return objs

        def drop_component(o):
            o["spec"]["selector"].pop("app.kubernetes.io/component")

        def env_set(name, value):
            def edit(o):
                for e in o["spec"]["template"]["spec"]["containers"][0]["env"]:
                    if e["name"] == name:
                        e["value"] = value
            return edit

        def add_env(o):
            o["spec"]["template"]["spec"]["containers"][0]["env"].append(
                {"name": "MODQ_WORKER_ROLE", "value": "all"})

        controls = [
            ("the Service over every pod", check_fleet, fv,
             broken(fobjs, "Service", "modq", drop_component), fnotes, "Service modq selects"),
            ("a desk budget of minAvailable 1", check_fleet, fv,
             broken(fobjs, "PodDisruptionBudget", "modq-desk",
                    lambda o: o["spec"].update(minAvailable=1)), fnotes, "desk budget"),
            ("the ScaledObject on the desk", check_fleet, fv,
             broken(fobjs, "ScaledObject", "modq-prepare",
                    lambda o: o["spec"]["scaleTargetRef"].update(name="modq-desk")), fnotes,
             "never autoscaled"),
            ("a desk of role prepare", check_fleet, fv,
             broken(fobjs, "Deployment", "modq-desk", env_set("MODQ_WORKER_ROLE", "prepare")),
             fnotes, "MODQ_WORKER_ROLE"),
            ("a desk rolled one pod at a time", check_fleet, fv,
             broken(fobjs, "Deployment", "modq-desk",
                    lambda o: o["spec"]["strategy"]["rollingUpdate"].update(maxUnavailable=0)),
             fnotes, "never is"),
            ("a desk readiness probe on /healthz", check_common, None,
             broken(fobjs, "Deployment", "modq-desk",
                    lambda o: o["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
                    ["httpGet"].update(path="/healthz")), None, "readinessProbe"),
            ("NOTES.txt without the partition count", check_fleet, fv, fobjs,
             fnotes.replace("exactly ONE", "one or more"), "one partition"),
            ("a role in mode single", check_single, sv,
             broken(sobjs, "Deployment", "modq", add_env), None, "MODQ_WORKER_ROLE"),
            ("a budget over two Deployments", check_common, None,
             broken(fobjs, "PodDisruptionBudget", "modq-prepare",
                    lambda o: o["spec"]["selector"]["matchLabels"].pop(
                        "app.kubernetes.io/component")), None, "not of one Deployment"),
        ]
    else:
        print("FAIL: control renderings missing")
        failed += 1
    for what, check, values, objs, notes, needle in controls:
        args = (objs,) if check is check_common else \
            (values, objs) if check is check_single else (values, objs, notes)
        problems = check(*args)
        ok = any(needle in p for p in problems)
        print(("ok  " if ok else "FAIL") + f": control: {what} is reported")
        if not ok:
            print(f"      got {problems}")
        failed += not ok

    # The renderer refuses what it does not implement, and formats numbers as Helm does.
    try:
        nodes, _, _ = parse(lex('{{ lower "A" }}', "t"), 0, "t", ())
        Engine({}).run(nodes, {}, Scope({}), [])
        print("FAIL: control: the renderer ran a function it does not implement")
        failed += 1
    except Unsupported:
        print("ok  : control: the renderer refuses an unknown function")
    if (go_float(1e8), go_float(1536.0), to_json(1e8), to_json(0.05)) != \
            ("1e+08", "1536", "100000000", "0.05"):
        print("FAIL: the renderer prints numbers unlike Helm")
        failed += 1

    print(f"{failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
