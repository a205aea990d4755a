#!/usr/bin/env python3
"""Checks the policy fixtures against Kuma's CRD openAPIV3Schema.

Usage: crd_schema_test.py <policies dir> <crds dir>

Fixtures: <policies dir>/<policy>/testdata/*.yaml (each policy folder keeps its own).

Every `valid*.yaml` fixture's spec must satisfy the CRD schema of its type, and every
`invalid-schema*.yaml` fixture's spec must violate it (those carry type/enum/bound errors
the schema itself catches). Exits non-zero on any mismatch.
"""
import pathlib
import sys

import jsonschema
import yaml

def spec_schemas(crds: pathlib.Path) -> dict:
    """kind -> the spec schema of its storage version, for every CRD in `crds`."""
    out = {}
    for path in crds.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        if not isinstance(crd, dict) or crd.get("kind") != "CustomResourceDefinition":
            continue
        version = next(v for v in crd["spec"]["versions"] if v.get("storage", True))
        props = version["schema"]["openAPIV3Schema"].get("properties", {})
        if "spec" in props:
            out[crd["spec"]["names"]["kind"]] = props["spec"]
    return out


def main() -> int:
    policies, crds = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    schemas = spec_schemas(crds)
    failures, checked, rejected = [], 0, 0
    for path in sorted(policies.glob("*/testdata/*.yaml")):
        if ".violations." in path.name:
            continue
        doc = yaml.safe_load(path.read_text())
        schema = schemas.get(doc["type"])
        if schema is None:
            failures.append(f"{path}: no CRD of kind {doc['type']} in {crds}")
            continue
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
        failures.append(f"no fixtures found under {policies} ({checked} valid, {rejected} rejected)")
    for f in failures:
        print(f, file=sys.stderr)
    print(f"checked {checked} valid and {rejected} schema-invalid fixtures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
