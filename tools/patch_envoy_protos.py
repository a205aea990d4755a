#!/usr/bin/env python3
"""Adds fields of newer Envoy APIs (1.37, the API Kuma 2.14 and the pinned Envoy speak) to the
older envoy-api snapshot bundled with @grpc/grpc-js-xds, where kuma-cpp generates them:

  OpenTelemetryAccessLogConfig  grpc_service = 9, log_name = 10 (Kuma sets these, not the
                                deprecated common_config)

Field numbers and types are upstream Envoy's. Idempotent.
Usage: patch_envoy_protos.py PROTO_ROOT"""
import os
import sys

# file -> (message, import needed, fields to add)
PATCHES = {
    "envoy/extensions/access_loggers/open_telemetry/v3/logs_service.proto": (
        "OpenTelemetryAccessLogConfig",
        "envoy/config/core/v3/grpc_service.proto",
        ["config.core.v3.GrpcService grpc_service = 9;", "string log_name = 10;"],
    ),
}


def patch(path: str, message: str, needed_import: str, fields: list) -> None:
    with open(path) as f:
        text = f.read()
    if all(field in text for field in fields):
        return
    lines = text.split("\n")
    out, inside, depth = [], False, 0
    for line in lines:
        if line.startswith("import ") and f'import "{needed_import}";' not in text:
            out.append(f'import "{needed_import}";')
            text += f'import "{needed_import}";'  # once
        if line.startswith(f"message {message} {{"):
            inside, depth = True, 0
        if inside:
            depth += line.count("{") - line.count("}")
            if depth == 0 and line.strip() == "}":
                out.extend(f"  {field}" for field in fields)
                inside = False
        out.append(line)
    with open(path, "w") as f:
        f.write("\n".join(out))


def main(root: str) -> None:
    for rel, (message, needed_import, fields) in PATCHES.items():
        patch(os.path.join(root, rel), message, needed_import, fields)


if __name__ == "__main__":
    main(sys.argv[1])
