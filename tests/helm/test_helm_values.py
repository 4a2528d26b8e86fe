#!/usr/bin/python3
"""Checks helm/modq/values.schema.json against the chart's values (Helm cannot be installed here).

values.yaml, and each ci/*-values.yaml merged over it as Helm merges, must validate (draft-07), as
must a few edge values that are right (prepare pods scaled to zero, a desk without its own
session timeout); deliberately wrong values (bad enum, bad type, missing required key, unknown
key, out of range, a secret among the Kafka properties; for mode fleet: an unknown mode, a desk
autoscaler, a desk budget, a too short session timeout, a review topic name Kafka refuses) must
each be rejected, so the schema cannot silently go lax. Every value of mode fleet (mode,
prepare.*, desk.*, consumer.deskGroupId, topics.review) must carry a description.

Usage: test_helm_values.py CHART_DIR     (needs Debian's python3-jsonschema and python3-yaml)
"""
import copy
import glob
import json
import os
import sys

import jsonschema
import yaml


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


def errors(validator, values):
    return sorted(f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
                  for e in validator.iter_errors(values))


def main():
    chart = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.environ["MODQ_SOURCE_DIR"], "helm", "modq")
    with open(os.path.join(chart, "values.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    v = jsonschema.Draft7Validator(schema)
    with open(os.path.join(chart, "values.yaml")) as f:
        defaults = yaml.safe_load(f)
    failed = 0

    good = {"values.yaml": defaults}
    for path in sorted(glob.glob(os.path.join(chart, "ci", "*-values.yaml"))):
        with open(path) as f:
            good["ci/" + os.path.basename(path)] = merge(defaults, yaml.safe_load(f))
    if len(good) < 2:
        print("FAIL: no ci/*-values.yaml found")
        failed += 1
    for name, values in good.items():
        errs = errors(v, values)
        print(("FAIL" if errs else "ok  ") + f": {name} validates")
        for e in errs:
            print("      " + e)
        failed += bool(errs)

    # Right values beyond the ci/ files.
    accepted = [
        ("prepare pods scaled to zero by KEDA",
         {"mode": "fleet", "prepare": {"autoscaling": {"keda": {"enabled": True,
                                                                "minReplicaCount": 0}}}}),
        ("desk.sessionTimeoutMs 0 (kafka.properties')", {"desk": {"sessionTimeoutMs": 0}}),
        ("a single desk", {"desk": {"replicaCount": 1}}),
        ("prepare.pdb.maxUnavailable 50%", {"prepare": {"pdb": {"maxUnavailable": "50%"}}}),
    ]
    for what, patch in accepted:
        errs = errors(v, merge(defaults, patch))
        print(("FAIL" if errs else "ok  ") + f": accepted: {what}")
        for e in errs:
            print("      " + e)
        failed += bool(errs)

    # Each case: (what, a patch merged over values.yaml, a path to delete or None).
    bad = [
        ("wrong enum: media.format gif", {"media": {"format": "gif"}}, None),
        ("wrong enum: worker.logLevel verbose", {"worker": {"logLevel": "verbose"}}, None),
        ("wrong enum: jwt.algorithms none", {"jwt": {"algorithms": ["none"]}}, None),
        ("wrong enum: service.type", {"service": {"type": "ExternalName"}}, None),
        ("wrong type: replicaCount string", {"replicaCount": "two"}, None),
        ("wrong type: kafka.staticMembership string", {"kafka": {"staticMembership": "yes"}},
         None),
        ("wrong type: decided.autoVerdicts string", {"decided": {"autoVerdicts": "remove"}}, None),
        ("out of range: worker.graceSeconds 4000", {"worker": {"graceSeconds": 4000}}, None),
        ("out of range: http.qaSampleRate 1.5", {"http": {"qaSampleRate": 1.5}}, None),
        ("out of range: http.maxConnections 32", {"http": {"maxConnections": 32}}, None),
        ("out of range: http.perIpConnections -1", {"http": {"perIpConnections": -1}}, None),
        ("out of range: http.requestTimeoutSeconds 0", {"http": {"requestTimeoutSeconds": 0}},
         None),
        ("out of range: keda.minReplicaCount 0",
         {"autoscaling": {"keda": {"minReplicaCount": 0}}}, None),
        ("unknown key: worker.graceSecond", {"worker": {"graceSecond": 10}}, None),
        ("unknown top-level key", {"replicas": 3}, None),
        ("secret in kafka.properties", {"kafka": {"properties": {"sasl.password": "x"}}}, None),
        ("worker's own kafka property", {"kafka": {"properties": {"group.id": "x"}}}, None),
        ("missing required: image.repository", {}, ("image", "repository")),
        ("missing required: jwt.hs256Secret.key", {}, ("jwt", "hs256Secret", "key")),
        ("missing required: resources.limits", {}, ("resources", "limits")),
        ("wrong enum: mode cluster", {"mode": "cluster"}, None),
        ("wrong type: desk.replicaCount string", {"desk": {"replicaCount": "2"}}, None),
        ("out of range: desk.replicaCount 0", {"desk": {"replicaCount": 0}}, None),
        ("out of range: prepare.replicaCount 0", {"prepare": {"replicaCount": 0}}, None),
        ("out of range: desk.sessionTimeoutMs 3000", {"desk": {"sessionTimeoutMs": 3000}}, None),
        ("out of range: desk.sessionTimeoutMs -1", {"desk": {"sessionTimeoutMs": -1}}, None),
        ("wrong type: desk.sessionTimeoutMs 10s", {"desk": {"sessionTimeoutMs": "10s"}}, None),
        ("out of range: prepare keda minReplicaCount -1",
         {"prepare": {"autoscaling": {"keda": {"minReplicaCount": -1}}}}, None),
        ("out of range: prepare hpa minReplicas 0",
         {"prepare": {"autoscaling": {"hpa": {"minReplicas": 0}}}}, None),
        ("out of range: prepare.pdb.maxUnavailable 0",
         {"prepare": {"pdb": {"maxUnavailable": 0}}}, None),
        ("unknown key: desk.autoscaling (the desk is never autoscaled)",
         {"desk": {"autoscaling": {"hpa": {"enabled": True}}}}, None),
        ("unknown key: desk.pdb.minAvailable (always 0)", {"desk": {"pdb": {"minAvailable": 1}}},
         None),
        ("unknown key: prepare.replicas", {"prepare": {"replicas": 3}}, None),
        ("unknown key: prepare.autoscaling.keda.lag",
         {"prepare": {"autoscaling": {"keda": {"lag": 5}}}}, None),
        ("wrong type: desk.spreadAcrossNodes string", {"desk": {"spreadAcrossNodes": "yes"}},
         None),
        ("bad name: topics.review with a space", {"topics": {"review": "modq review"}}, None),
        ("bad name: consumer.deskGroupId empty", {"consumer": {"deskGroupId": ""}}, None),
        ("missing required: mode", {}, ("mode",)),
        ("missing required: topics.review", {}, ("topics", "review")),
        ("missing required: desk.pdb", {}, ("desk", "pdb")),
        ("missing required: prepare.resources.requests", {},
         ("prepare", "resources", "requests")),
        ("missing required: desk.resources.limits.memory", {},
         ("desk", "resources", "limits", "memory")),
    ]
    for what, patch, drop in bad:
        values = merge(defaults, patch)
        if drop:
            node = values
            for k in drop[:-1]:
                node = node[k]
            del node[drop[-1]]
        errs = errors(v, values)
        print(("ok  " if errs else "FAIL") + f": rejected: {what}")
        if errs:
            print("      " + errs[0])
        failed += not errs

    # The values of mode fleet are documented in the schema, not only in values.yaml.
    props = schema["properties"]
    described = {"mode": props["mode"], "consumer.deskGroupId":
                 props["consumer"]["properties"]["deskGroupId"],
                 "topics.review": props["topics"]["properties"]["review"]}
    for block in ("prepare", "desk"):
        described[block] = props[block]
        for k, sub in props[block]["properties"].items():
            described[f"{block}.{k}"] = sub
    undocumented = sorted(k for k, s in described.items() if not s.get("description"))
    for k in undocumented:
        print(f"FAIL: values.schema.json: {k} has no description")
    failed += len(undocumented)
    if sorted(props["desk"]["properties"]) != sorted(defaults["desk"]) or \
            sorted(props["prepare"]["properties"]) != sorted(defaults["prepare"]):
        print("FAIL: values.schema.json's prepare/desk keys differ from values.yaml's")
        failed += 1

    print(f"{failed} failure(s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
