"""Normalising two Envoy `/config_dump?include_eds` documents and diffing them field by field.

normalize() removes what legitimately differs between two runs of the same configuration:
xDS versions, update times and other timestamps, key material (PEM blocks, inline certificate
bytes), UUIDs, the ports and work directories the harness chose, and the version metadata of
kuma-dp and Envoy. It also re-keys the dump so that two dumps line up: the `configs` list by
its `@type`, xDS resource lists by resource name, and inner lists of uniquely named elements by
name (their order is kept as a separate `#order` field, because for routes and filters it
matters).

flatten() turns the result into {path: leaf value}; diff() compares two flattened dumps.
"""

import json
import re

UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PEM = re.compile(r"-----BEGIN [A-Z0-9 ]+-----.*?-----END [A-Z0-9 ]+-----\n?", re.S)
TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})\b")

# Fields that only say when or in which xDS version something arrived.
VOLATILE_KEYS = {"version_info", "last_updated"}
# Fields that carry key material as bytes (Envoy shows certificates as base64 inline_bytes).
KEY_MATERIAL_KEYS = {"inline_bytes"}

# Where Envoy's dump lists xDS resources; the value says how to find an element's name.
RESOURCE_LISTS = {
    "static_clusters": ("cluster", "name"),
    "dynamic_active_clusters": ("cluster", "name"),
    "dynamic_warming_clusters": ("cluster", "name"),
    "static_listeners": ("listener", "name"),
    "dynamic_listeners": ("name",),
    "static_route_configs": ("route_config", "name"),
    "dynamic_route_configs": ("route_config", "name"),
    "static_endpoint_configs": ("endpoint_config", "cluster_name"),
    "dynamic_endpoint_configs": ("endpoint_config", "cluster_name"),
    "static_secrets": ("name",),
    "dynamic_active_secrets": ("name",),
    "dynamic_warming_secrets": ("name",),
}

# Inner list elements are keyed by the first of these fields that names every element uniquely.
NAME_FIELDS = ("name", "cluster_name")


class Context:
    """What the harness chose for one run: {port: label} and {path prefix: label}."""

    def __init__(self, ports=None, paths=None):
        self.ports = dict(ports or {})
        # Longest first, so that a work dir inside another is replaced as a whole.
        self.paths = sorted((paths or {}).items(), key=lambda kv: -len(kv[0]))
        self._port_re = None
        if self.ports:
            alternatives = "|".join(str(p) for p in sorted(self.ports, reverse=True))
            self._port_re = re.compile(r"(?<![0-9])(" + alternatives + r")(?![0-9])")

    def string(self, value):
        for prefix, label in self.paths:
            value = value.replace(prefix, label)
        value = PEM.sub("<pem>", value)
        value = UUID.sub("<uuid>", value)
        value = TIMESTAMP.sub("<time>", value)
        if self._port_re is not None:
            value = self._port_re.sub(lambda m: "<port:" + self.ports[int(m.group(1))] + ">", value)
        return value

    def integer(self, value):
        if value in self.ports:
            return "<port:" + self.ports[value] + ">"
        return value


def _dig(obj, path):
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj if isinstance(obj, str) else None


def _normalize_version_metadata(bootstrap):
    node = bootstrap.get("node") if isinstance(bootstrap, dict) else None
    if not isinstance(node, dict):
        return
    # Envoy's own extension list (hundreds of entries, a property of the binary, not of the CP).
    if "extensions" in node:
        node["extensions"] = "<envoy-extensions>"
    if "user_agent_build_version" in node:
        node["user_agent_build_version"] = "<envoy-version>"
    metadata = node.get("metadata")
    if not isinstance(metadata, dict):
        return
    if "version" in metadata:
        metadata["version"] = "<kuma-dp-and-envoy-versions>"
    # kuma-dp's feature flags are a set (Kuma's kuma-dp sends them in map order): one field each.
    if isinstance(metadata.get("features"), list):
        metadata["features"] = {f"[{f}]": True for f in sorted(metadata["features"], key=str)}
    # The Dataplane kuma-dp sent, as a JSON string: compared field by field.
    resource = metadata.get("dataplane.resource")
    if isinstance(resource, str):
        try:
            metadata["dataplane.resource"] = json.loads(resource)
        except ValueError:
            pass


def _walk(value, ctx, key=None):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in VOLATILE_KEYS:
                continue
            if k in KEY_MATERIAL_KEYS and isinstance(v, str):
                out[k] = "<key-material>"
                continue
            out[k] = _walk(v, ctx, k)
        return out
    if isinstance(value, list):
        items = [_walk(v, ctx) for v in value]
        if key in RESOURCE_LISTS:
            return _keyed(items, RESOURCE_LISTS[key], keep_order=False)
        for field in NAME_FIELDS:
            keyed = _keyed(items, (field,), keep_order=True)
            if keyed is not None:
                return keyed
        return items
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return ctx.integer(value)
    if isinstance(value, str):
        return ctx.string(value)
    return value


def _keyed(items, name_path, keep_order):
    """The list as {"[name=X]": element} when every element has a distinct name, else None."""
    if not items:
        return None if keep_order else {}
    names = [_dig(item, name_path) for item in items]
    if any(n is None for n in names) or len(set(names)) != len(names):
        if keep_order:
            return None
        # Nameless entries fall back to positions. Entries sharing a name (the inline route
        # configurations of two listeners, which Envoy lists in no fixed order) are numbered by
        # their rank among that name's entries ordered by content, not by their position.
        names = [n if n is not None else f"#{i}" for i, n in enumerate(names)]
        canonical = [json.dumps(item, sort_keys=True) for item in items]
        ranked = {}
        for i in sorted(range(len(items)), key=lambda i: (names[i], canonical[i])):
            if names.count(names[i]) > 1:
                ranked[i] = f"{names[i]}#{sum(1 for j in ranked if names[j] == names[i])}"
        names = [ranked.get(i, n) for i, n in enumerate(names)]
    out = {f"[{n}]": item for n, item in zip(names, items)}
    if keep_order and len(items) > 1:
        out["#order"] = ",".join(names)
    return out


def normalize(dump, ctx=None):
    """The normalised form of one config dump (a dict with a `configs` list)."""
    ctx = ctx or Context()
    configs = {}
    for entry in dump.get("configs", []):
        type_name = entry.get("@type", "unknown").rsplit(".", 1)[-1]
        entry = dict(entry)
        entry.pop("@type", None)
        if type_name == "BootstrapConfigDump":
            entry = {k: v for k, v in entry.items()}
            _normalize_version_metadata(entry.get("bootstrap"))
        configs[type_name] = _walk(entry, ctx)
    return configs


def flatten(value, prefix=""):
    """{path: leaf} of a normalised dump; empty containers are leaves too."""
    out = {}
    if isinstance(value, dict):
        if not value and prefix:
            out[prefix] = {}
        for k, v in value.items():
            if k.startswith("["):
                path = prefix + k
            else:
                path = f"{prefix}/{k}" if prefix else k
            out.update(flatten(v, path))
    elif isinstance(value, list):
        if not value and prefix:
            out[prefix] = []
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = value
    return out


class Diff:
    def __init__(self, ours, theirs):
        self.ours = ours
        self.theirs = theirs
        paths = sorted(set(ours) | set(theirs))
        self.compared = len(paths)
        self.equal = 0
        self.only_ours, self.only_theirs, self.different = [], [], []
        for p in paths:
            if p not in theirs:
                self.only_ours.append(p)
            elif p not in ours:
                self.only_theirs.append(p)
            elif ours[p] == theirs[p] and type(ours[p]) is type(theirs[p]):
                self.equal += 1
            else:
                self.different.append(p)

    @property
    def percent(self):
        return 100.0 * self.equal / self.compared if self.compared else 100.0


def _rekey_nameless_route_configs(normalised):
    """Nameless static route configurations (`_kuma:dynamicconfig`'s) keyed by their virtual
    hosts instead of their position: Envoy lists them in the order their listeners last changed,
    which says nothing about the configuration (applied at comparison time, so that dumps saved
    with positions still compare)."""
    routes = normalised.get("RoutesConfigDump", {}).get("static_route_configs")
    if not isinstance(routes, dict):
        return normalised
    rekeyed = {}
    for key, value in routes.items():
        hosts = value.get("route_config", {}).get("virtual_hosts") if isinstance(value, dict) else None
        if key.startswith("[#") and isinstance(hosts, dict) and hosts:
            candidate = "[vhosts=" + ",".join(sorted(k for k in hosts if k.startswith("["))) + "]"
            if candidate not in routes and candidate not in rekeyed:
                key = candidate
        rekeyed[key] = value
    out = dict(normalised)
    out["RoutesConfigDump"] = dict(out["RoutesConfigDump"], static_route_configs=rekeyed)
    return out


def diff(ours_normalised, theirs_normalised):
    """A Diff of two normalised dumps (ours = kuma-cpp, theirs = Kuma)."""
    return Diff(flatten(_rekey_nameless_route_configs(ours_normalised)),
                flatten(_rekey_nameless_route_configs(theirs_normalised)))
