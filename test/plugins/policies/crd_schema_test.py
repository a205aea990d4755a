#!/usr/bin/env python3
"""Checks the policy fixtures against Kuma's CRD openAPIV3Schema.

Usage: crd_schema_test.py <testdata dir> <crds dir>

Every `valid*.yaml` fixture's spec must satisfy the CRD schema of its type, and every
`invalid-schema*.yaml` fixture's spec must violate it (those carry type/enum/bound errors
the schema itself catches). Exits non-zero on any mismatch.
"""
import pathlib
import sys

import jsonschema
import yaml

PLURALS = {
    "MeshTrafficPermission": "meshtrafficpermissions",
    "MeshTimeout": "meshtimeouts",
    "MeshRetry": "meshretries",
    "MeshCircuitBreaker": "meshcircuitbreakers",
    "MeshHealthCheck": "meshhealthchecks",
    "MeshHTTPRoute": "meshhttproutes",
    "MeshTCPRoute": "meshtcproutes",
    "MeshLoadBalancingStrategy": "meshloadbalancingstrategies",
    "MeshRateLimit": "meshratelimits",
    "MeshFaultInjection": "meshfaultinjections",
    "MeshAccessLog": "meshaccesslogs",
}


def spec_schema(crds: pathlib.Path, kind: str) -> dict:
    crd = yaml.safe_load((crds / f"kuma.io_{PLURALS[kind]}.yaml").read_text())
    version = next(v for v in crd["spec"]["versions"] if v.get("storage", True))
    return version["schema"]["openAPIV3Schema"]["properties"]["spec"]


def main() -> int:
    testdata, crds = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    failures, checked, rejected = [], 0, 0
    for path in sorted(testdata.glob("*/*.yaml")):
        if ".violations." in path.name:
            continue
        doc = yaml.safe_load(path.read_text())
        schema = spec_schema(crds, doc["type"])
        errors = list(jsonschema.Draft4Validator(schema).iter_errors(doc.get("spec") or {}))
        if path.name.startswith("valid"):
            checked += 1
            for e in errors:
                failures.append(f"{path}: schema violation at {list(e.path)}: {e.message}")
        elif path.name.startswith("invalid-schema"):
            rejected += 1
            if not errors:
                failures.append(f"{path}: expected the CRD schema to reject this fixture")
    if checked == 0 or rejected == 0:
        failures.append(f"no fixtures found under {testdata} ({checked} valid, {rejected} rejected)")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"checked {checked} valid and {rejected} schema-invalid fixtures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
