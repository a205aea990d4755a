#!/usr/bin/env python3
"""Adds the `ignore_empty` fields of upstream protoc-gen-validate to the stale validate.proto
bundled with @grpc/grpc-js-xds, so that protoc 3.21 accepts envoy/config/core/v3/protocol.proto.
Field numbers are upstream PGV's. Idempotent."""
import re
import sys

FIELD_NUMBERS = {
    "StringRules": 26, "BytesRules": 14, "RepeatedRules": 5, "MapRules": 6,
    **{f"{t}Rules": 8 for t in ("Float", "Double", "Int32", "Int64", "UInt32", "UInt64", "SInt32",
                                 "SInt64", "Fixed32", "Fixed64", "SFixed32", "SFixed64")},
}

def main(path: str) -> None:
    with open(path) as f:
        text = f.read()
    if "ignore_empty" in text:
        return
    result, message = [], None
    for line in text.split("\n"):
        opened = re.match(r"^message (\w+) \{", line)
        if opened:
            message = opened.group(1)
        if line == "}":
            if message in FIELD_NUMBERS:
                result.append(f"    optional bool ignore_empty = {FIELD_NUMBERS[message]};")
            message = None
        result.append(line)
    with open(path, "w") as f:
        f.write("\n".join(result))

if __name__ == "__main__":
    main(sys.argv[1])
