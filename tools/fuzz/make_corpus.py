#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets from the repository's test fixtures.

    python3 tools/fuzz/make_corpus.py --types-from build/fuzz/fuzz_bin/rest_codec_fuzz

Writes test/fuzz/corpus/<target>/seed-* (replacing earlier seed-* files; regression inputs,
named regress-*, are kept) and test/fuzz/dict/<target>.dict. The sources are the resource
fixtures (test/**/testdata), literals of the unit tests (config loader, tokens, bootstrap) and
a few hand-written inputs below. The REST targets select the resource type with the input's
first byte (its index in the registry, sorted by name), so the type list is read from a built
fuzz target: run this again after registering a type. See docs/fuzzing.md.
"""

import argparse
import base64
import glob
import json
import os
import re
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "test/fuzz/corpus")
DICTS = os.path.join(ROOT, "test/fuzz/dict")


def rel(path):
    return os.path.relpath(path, ROOT)


def read(path):
    with open(os.path.join(ROOT, path), "rb") as f:
        return f.read()


def stem(path):
    base = os.path.basename(path)
    return re.sub(r"\.(yaml|yml|json)$", "", base)


def write_corpus(target, seeds):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        if f.startswith("seed-"):
            os.remove(os.path.join(d, f))
    names = set()
    for name, data in seeds:
        name = "seed-" + re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        assert name not in names, name
        names.add(name)
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    print("%-26s %3d seeds" % (target, len(seeds)))


def dict_escape(value):
    out = []
    for b in value.encode("utf-8"):
        c = chr(b)
        if c in '"\\':
            out.append("\\" + c)
        elif 32 <= b < 127:
            out.append(c)
        else:
            out.append("\\x%02X" % b)
    return '"' + "".join(out) + '"'


def write_dict(target, entries):
    os.makedirs(DICTS, exist_ok=True)
    entries = sorted(set(e for e in entries if e and len(e) <= 64))
    with open(os.path.join(DICTS, target + ".dict"), "w") as f:
        f.write("# libFuzzer dictionary of %s, made by tools/fuzz/make_corpus.py\n" % target)
        for e in entries:
            f.write(dict_escape(e) + "\n")


def c_literals(path):
    """String literals of a C++ file: raw R"(...)" and plain "..." (C escapes decoded)."""
    text = read(path).decode("utf-8")
    out = []
    for m in re.finditer(r'R"\((.*?)\)"|"((?:[^"\\\n]|\\.)*)"', text, re.S):
        if m.group(1) is not None:
            out.append(m.group(1))
        else:
            raw = m.group(2)
            out.append(bytes(raw, "utf-8").decode("unicode_escape").encode("latin1")
                       .decode("utf-8", errors="replace"))
    return out


def yaml_keys_and_values(doc, keys, values):
    if isinstance(doc, dict):
        for k, v in doc.items():
            keys.add(str(k))
            yaml_keys_and_values(v, keys, values)
    elif isinstance(doc, list):
        for v in doc:
            yaml_keys_and_values(v, keys, values)
    elif isinstance(doc, str) and len(doc) <= 32:
        values.add(doc)


def resource_fixtures():
    core = sorted(glob.glob(os.path.join(ROOT, "test/core/resources/testdata/*.yaml")))
    # One policy, one folder: source/plugins/policies/<policy>/testdata/.
    policies = sorted(p for p in glob.glob(os.path.join(ROOT, "source/plugins/policies/*/testdata/*.yaml"))
                      if not p.endswith(".violations.yaml"))
    return core, policies


def minimal(type_name, descriptor_scope_mesh=True):
    doc = {"type": type_name, "name": "fuzz-1"}
    if descriptor_scope_mesh:
        doc["mesh"] = "default"
    return doc


def rest_targets(types):
    index = {name: i for i, name in enumerate(types)}
    core, policies = resource_fixtures()
    codec, validation = [], []
    keys, values = set(), set()
    covered = set()
    for path in core + policies:
        data = read(rel(path))
        doc = yaml.safe_load(data)
        yaml_keys_and_values(doc, keys, values)
        t = doc.get("type") if isinstance(doc, dict) else None
        if t not in index:
            continue
        covered.add(t)
        sel = bytes([index[t]])
        name = "%s-%s" % (os.path.basename(os.path.dirname(os.path.dirname(path))), stem(path)) \
            if path in policies else stem(path)
        as_json = json.dumps(doc, separators=(",", ":"), default=str).encode()
        if path in core:
            codec.append((name + ".yaml", sel + b"\x01" + data))
        elif "valid" in stem(path) and "invalid" not in stem(path):
            codec.append((name + ".json", sel + b"\x00" + as_json))
        if "invalid-schema" not in stem(path):  # refused by the parser: codec material
            validation.append((name + ".json", sel + as_json))
    # One small body for every type without a fixture (global types may carry a mesh: the
    # manager refuses it, which is a path too).
    for t in types:
        if t in covered:
            continue
        body = json.dumps(minimal(t), separators=(",", ":")).encode()
        codec.append(("min-%s.json" % t, bytes([index[t]]) + b"\x02" + body))
        validation.append(("min-%s.json" % t, bytes([index[t]]) + body))
    keys |= {"type", "name", "mesh", "labels", "spec", "status", "targetRef", "kind", "from",
             "to", "rules", "default", "kuma.io/service", "kuma.io/zone", "kuma.io/origin",
             "kuma.io/mesh", "kuma.io/display-name", "k8s.kuma.io/namespace"}
    codec_dict = keys | values | set(types) | {"{", "}", "[", "]", ": ", "- ", "&a ", "*a",
                                               "!!str ", "---", "null", "true", "~", "0x", "0o",
                                               ".inf", "\"", "'"}
    write_corpus("rest_codec_fuzz", codec)
    write_dict("rest_codec_fuzz", codec_dict)
    write_corpus("resource_validation_fuzz", validation)
    write_dict("resource_validation_fuzz", keys | values | set(types) | {"null", "true"})
    return values


def go_duration_target(fixture_values):
    seeds = set()
    unit = r"(ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
    pattern = re.compile(r"^[-+]?([0-9]*\.?[0-9]*%s)+$|^[-+]?0$" % unit)
    for lit in c_literals("test/common/go_duration_test.cc"):
        if 0 < len(lit) <= 32 and "/" not in lit and " " not in lit:
            seeds.add(lit)
    for v in fixture_values:
        if pattern.match(v):
            seeds.add(v)
    seeds |= {"2562047h47m16.854775807s", "-2562047h47m16.854775808s", "1.000000001s",
              "0.5h", "1h1m1s1ms1us1ns"}
    ordered = sorted(seeds)[:40]
    write_corpus("go_duration_fuzz", [("%02d" % i, s.encode()) for i, s in enumerate(ordered)])
    write_dict("go_duration_fuzz", ["ns", "us", "\u00b5s", "\u03bcs", "ms", "s", "m", "h", ".",
                                    "-", "+", "0", "9223372036854775807"])


def config_target():
    seeds = []
    text = read("test/core/config/loader_test.cc").decode()
    for i, m in enumerate(re.finditer(r'load(?:Config)?\(\s*R"\((.*?)\)"', text, re.S)):
        seeds.append(("loader-%02d.yaml" % i, m.group(1).encode()))
    for i, m in enumerate(re.finditer(r'load\(\s*"((?:[^"\\]|\\.)*)"', text)):
        seeds.append(("loader-short-%02d.yaml" % i, m.group(1).encode().decode("unicode_escape")
                      .encode()))
    for i, m in enumerate(re.finditer(r'writeTemp\(R"\((.*?)\)"', text, re.S)):
        seeds.append(("file-%02d.yaml" % i, m.group(1).encode()))
    env_text = read("test/core/config/env_test.cc").decode()
    pairs = re.findall(r'\{"(KUMA_[A-Z0-9_]+)",\s*"((?:[^"\\]|\\.)*)"', env_text)
    groups = [pairs[i:i + 4] for i in range(0, len(pairs), 4)]
    for i, group in enumerate(groups):
        env = "\n".join("%s=%s" % (k, v.encode().decode("unicode_escape")) for k, v in group)
        seeds.append(("env-%02d" % i, ("mode: zone\n#KUMA_ENV\n" + env + "\n").encode()))
    seeds.append(("sections.yaml", b"""environment: universal
mode: zone
store:
  type: memory
  postgres: {host: 127.0.0.1, port: 5432, user: kuma, password: secret, maxOpenConnections: 50}
apiServer:
  http: {enabled: true, interface: 0.0.0.0, port: 5681}
  https: {enabled: true, port: 5682}
  auth: {type: tokens}
  readOnly: false
  corsAllowedDomains: [".*"]
dpServer:
  port: 5678
  authn:
    dpProxy:
      type: dpToken
      dpToken:
        enableIssuer: true
        validator:
          useSecrets: true
          publicKeys: [{kid: "1", key: "-----BEGIN PUBLIC KEY-----", mesh: default}]
xdsServer: {dataplaneConfigurationRefreshInterval: 1s, dataplaneStatusFlushInterval: 10s}
multizone:
  zone: {name: zone-1, globalAddress: "grpcs://global:5685"}
general: {tlsCertFile: /tmp/c.pem, tlsKeyFile: /tmp/k.pem, workDir: /tmp/kuma}
runtime:
  kubernetes:
    injector:
      sidecarContainer: {envVars: {A: b}}
    exceptions: {labels: {app: x}}
"""))
    write_corpus("config_loader_fuzz", seeds)
    fields = re.findall(r'F\("([A-Za-z0-9_.]+)",\s*"([A-Z0-9_]*)"', read("source/core/config/fields.cc").decode())
    entries = set()
    for path, env in fields:
        entries |= set(path.split("."))
        if env:
            entries.add(env + "=")
    entries |= {"#KUMA_ENV\n", "universal", "kubernetes", "zone", "global", "standalone",
                "memory", "postgres", "true", "false", "null", "1s", "0x", ": ", "- ", "{", "}",
                "[", "]"}
    write_dict("config_loader_fuzz", entries)


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def token_target():
    header = json.dumps({"alg": "RS256", "kid": "1", "typ": "JWT"}, separators=(",", ":")).encode()
    claims = [
        {"Name": "dp-1", "Mesh": "default", "Tags": {"kuma.io/service": ["web"]}, "Type": "",
         "Workload": "", "exp": 1800000000, "nbf": 1690000000, "iat": 1690000000,
         "jti": "0b5cf9c5-5a3e-4c4d-9d4e-3f4b0a1b2c3d"},
        {"Name": "", "Mesh": "default", "Tags": {}, "Type": "dataplane", "Workload": "web",
         "exp": 1800000000.5, "nbf": 1690000000, "iat": 1690000000, "jti": "revoked-1"},
        {"Name": "dp-1", "Mesh": "default", "Tags": {"kuma.io/service": ["web"],
                                                     "version": ["v1", "v2"]},
         "exp": 1600000000},
        {"Mesh": "default", "Type": "ingress", "nbf": 1900000000},
    ]
    seeds = []
    for i, c in enumerate(claims):
        body = json.dumps(c, separators=(",", ":")).encode()
        token = b".".join([b64url(header), b64url(body), b64url(b"\x01" * 128)])
        seeds.append(("token-%d" % i, b"\x00" + token))
        seeds.append(("claims-%d.json" % i, b"\x02" + body))
    seeds.append(("token-none", b"\x00" + b".".join([b64url(b'{"alg":"none"}'), b64url(b"{}"), b""])))
    seeds.append(("token-segments", b"\x00a.b"))
    lits = c_literals("test/core/tokens/dataplane_token_test.cc")
    requests = sorted(set(l for l in lits if l.startswith("{") and ("mesh" in l.lower() or
                                                                       "validFor" in l or
                                                                       "tags" in l)))
    for i, r in enumerate(requests):
        seeds.append(("request-%02d.json" % i, b"\x01" + r.encode()))
    seeds.append(("request-full.json", b"\x01" + json.dumps(
        {"name": "dp-1", "mesh": "default", "tags": {"kuma.io/service": ["web", "web-v2"]},
         "type": "dataplane", "workload": "web", "validFor": "24h0m0s"},
        separators=(",", ":")).encode()))
    write_corpus("dataplane_token_fuzz", seeds)
    write_dict("dataplane_token_fuzz", ["Name", "Mesh", "Tags", "Type", "Workload", "exp", "nbf",
                                        "iat", "jti", "kid", "alg", "typ", "RS256", "JWT", "name",
                                        "mesh", "tags", "type", "workload", "validFor", "default",
                                        "dataplane", "ingress", "egress", "kuma.io/service",
                                        "revoked-1", "1h", "1e30", "."])


def bootstrap_target():
    dp = {"type": "Dataplane", "mesh": "default", "name": "dp-1",
          "networking": {"address": "10.0.0.7",
                         "inbound": [{"port": 8080, "tags": {"kuma.io/service": "web"}}]}}
    dp_yaml = read("test/core/resources/testdata/dataplane_example_1.yaml").decode()
    base = {"mesh": "default", "name": "dp-1", "proxyType": "dataplane", "dataplaneToken": "tok",
            "caCert": "", "workdir": "/tmp/w"}
    bodies = [
        ("stored", dict(base)),
        ("resource-json", dict(base, dataplaneResource=json.dumps(dp))),
        ("resource-yaml", dict(base, mesh="default", name="dp-1", dataplaneResource=dp_yaml)),
        ("full", dict(base, dataplaneResource=json.dumps(dp),
                      version={"kumaDp": {"version": "2.14.3"}, "envoy": {"version": "1.38.2"}},
                      dynamicMetadata={"HOST_IP": "1.2.3.4"}, dnsPort=15054, readinessPort=9902,
                      appProbeProxyDisabled=True, operatingSystem="linux",
                      features=["feature-reuse-port", "feature-delta-grpc"],
                      metricsResources={"certPath": "/c", "keyPath": "/k"},
                      systemCaPath="/etc/ssl", ipv6Enabled=True,
                      spireResources={"socketPath": "/run/spire.sock"},
                      otelEnv={"OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4317"},
                      dataplaneConfig={"ipFamilyMode": "dualstack"})),
        ("transparent", dict(base, dataplaneResource=json.dumps(
            dict(dp, networking=dict(dp["networking"], outbound=[{"port": 1, "tags": {"kuma.io/service": "x"}}]))),
            dataplaneConfig={"redirect": {"outbound": {"enabled": True, "port": 15001},
                                          "inbound": {"enabled": True, "port": 15006}}})),
        ("ingress", dict(base, proxyType="ingress")),
        ("no-token", {"mesh": "default", "name": "dp-1"}),
        ("unknown-dp", dict(base, name="nope")),
        ("other-mesh", dict(base, dataplaneResource=json.dumps(dict(dp, mesh="other")))),
        ("ca", dict(base, caCert="-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")),
    ]
    seeds = []
    for i, (name, body) in enumerate(bodies):
        flags = bytes([i % 8])
        seeds.append((name + ".json", flags + json.dumps(body, separators=(",", ":")).encode()))
    for i, lit in enumerate(l for l in c_literals("test/xds/bootstrap/generator_test.cc") +
                            c_literals("test/xds/bootstrap/envoy_validate_test.cc")
                            if l.strip().startswith("{")):
        seeds.append(("test-literal-%02d.json" % i, b"\x01" + lit.encode()))
    write_corpus("bootstrap_request_fuzz", seeds)
    keys = set(base) | {"dataplaneResource", "dataplaneTokenPath", "version", "kumaDp", "envoy",
                        "dynamicMetadata", "otelEnv", "dnsPort", "readinessPort",
                        "appProbeProxyDisabled", "operatingSystem", "features", "metricsResources",
                        "certPath", "keyPath", "systemCaPath", "dataplaneConfig", "ipv6Enabled",
                        "spireResources", "socketPath", "redirect", "inbound", "outbound",
                        "enabled", "port", "feature-delta-grpc", "feature-reuse-port", "ingress",
                        "egress", "dataplane", "Dataplane", "networking", "address", "tags",
                        "kuma.io/service", "-----BEGIN CERTIFICATE-----", "metrics", "aggregate"}
    write_dict("bootstrap_request_fuzz", keys)


def node_metadata_target():
    fixtures = ["dataplane_example_1.yaml", "dataplane_example_2.yaml", "dataplane_example_3.yaml",
                "dataplane_invalid_gateway.yaml", "dataplane_invalid_many.yaml"]
    seeds = []
    for i, f in enumerate(fixtures):
        text = read("test/core/resources/testdata/" + f).decode()
        doc = yaml.safe_load(text)
        node_id = "%s.%s" % (doc.get("mesh", "default"), doc.get("name", "dp"))
        resource = text if i % 2 == 0 else json.dumps(doc, default=str)
        metadata = {"dataplane.resource": resource, "dataplane.admin.port": "9901",
                    "dataplane.admin.address": "127.0.0.1",
                    "dataplane.readinessReporter.port": 9902,
                    "features": ["feature-reuse-port", "feature-delta-grpc"],
                    "version": {"kumaDp": {"version": "2.14.3"}}}
        node = {"id": node_id, "cluster": "web", "metadata": metadata}
        seeds.append((stem(f) + ".json", json.dumps(node).encode()))
    seeds.append(("no-resource.json", json.dumps({"id": "default.dp-1", "metadata": {
        "dataplane.admin.port": 0, "dataplane.readinessReporter.port": "x"}}).encode()))
    seeds.append(("no-metadata.json", b'{"id":"default.dp-1"}'))
    seeds.append(("bad-id.json", b'{"id":"nodot","metadata":{}}'))
    seeds.append(("mismatch.json", json.dumps({"id": "default.other", "metadata": {
        "dataplane.resource": '{"type":"Dataplane","mesh":"default","name":"dp-1"}'}}).encode()))
    write_corpus("node_metadata_fuzz", seeds)
    write_dict("node_metadata_fuzz", ["id", "metadata", "dataplane.resource",
                                      "dataplane.admin.port", "dataplane.admin.address",
                                      "dataplane.readinessReporter.port", "features",
                                      "feature-reuse-port", "default.dp-1", "Dataplane",
                                      "networking", "inbound", "address", "type", "mesh", "name",
                                      "kuma.io/service", "1e300", "-1", "4294967296"])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--types-from", required=True,
                   help="a built rest_codec_fuzz (prints the registered types, in selector order)")
    args = p.parse_args()
    env = dict(os.environ, KUMA_FUZZ_LIST_TYPES="1")
    types = subprocess.run([args.types_from], env=env, check=True, capture_output=True,
                           text=True).stdout.split()
    if not types or len(types) > 256:
        sys.exit("unexpected type list: %r" % types)
    values = rest_targets(types)
    go_duration_target(values)
    config_target()
    token_target()
    bootstrap_target()
    node_metadata_target()


if __name__ == "__main__":
    main()
