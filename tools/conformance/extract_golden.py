#!/usr/bin/env python3
"""Cut the fields a policy plugin owns out of a saved Kuma dump (docs/conformance.md), as the
golden file of that plugin's unit test.

    extract_golden.py DUMP.json --cluster-keys health_checks,common_lb_config > golden.json
    extract_golden.py DUMP.json --route-keys retry_policy --tcp-keys max_connect_attempts
    extract_golden.py DUMP.json --hcm-keys tracing --cluster-keys ALL --cluster-prefix meshtrace:

The normalised dump keys named lists as {"[name]": ..., "#order": "a,b"}; they become plain lists
again here, in their order, so that the result is Envoy's own JSON (proto field names) of those
fields. Resource names keep the harness's `<port:LABEL>` placeholders.
"""
import argparse
import json
import sys

def denormalise(v):
    if isinstance(v, dict):
        keys = [k for k in v if k != "#order"]
        if keys and all(k.startswith("[") and k.endswith("]") for k in keys):
            order = v["#order"].split(",") if "#order" in v else [k[1:-1] for k in keys]
            return [denormalise(v["[" + name + "]"]) for name in order]
        return {k: denormalise(x) for k, x in v.items()}
    if isinstance(v, list):
        return [denormalise(x) for x in v]
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dump")
    ap.add_argument("--cluster-keys", default="")
    ap.add_argument("--route-keys", default="")
    ap.add_argument("--tcp-keys", default="")
    ap.add_argument("--hcm-keys", default="",
                    help="HTTP connection manager fields of every listener's chains (in and out)")
    ap.add_argument("--cluster-prefix", default="", help="only the clusters whose name starts so")
    args = ap.parse_args()
    dump = json.load(open(args.dump))
    out = {}
    if args.cluster_keys:
        keys = args.cluster_keys.split(",")
        clusters = {}
        dyn = dump.get("ClustersConfigDump", {}).get("dynamic_active_clusters", {})
        for name, entry in sorted(dyn.items()):
            c = entry["cluster"]
            if not name[1:-1].startswith(args.cluster_prefix):
                continue
            wanted = [k for k in c if k != "@type"] if keys == ["ALL"] else keys
            clusters[name[1:-1]] = {k: denormalise(c[k]) for k in wanted if k in c}
        out["clusters"] = clusters
    if args.route_keys or args.tcp_keys:
        rkeys = [k for k in args.route_keys.split(",") if k]
        tkeys = [k for k in args.tcp_keys.split(",") if k]
        routes, tcp = {}, {}
        dyn = dump.get("ListenersConfigDump", {}).get("dynamic_listeners", {})
        for name, entry in sorted(dyn.items()):
            lname = name[1:-1]
            if not lname.startswith("outbound:"):
                continue
            listener = entry["active_state"]["listener"]
            for chain in listener.get("filter_chains", []):
                for fname, f in chain.get("filters", {}).items():
                    cfg = f.get("typed_config", {})
                    if fname == "[envoy.filters.network.http_connection_manager]" and rkeys:
                        for vh in denormalise(cfg["route_config"]["virtual_hosts"]):
                            for r in vh.get("routes", []):
                                action = r.get("route", {})
                                routes.setdefault(lname, []).append(
                                    {k: action[k] for k in rkeys if k in action})
                    if fname == "[envoy.filters.network.tcp_proxy]" and tkeys:
                        tcp[lname] = {k: denormalise(cfg[k]) for k in tkeys if k in cfg}
        if rkeys:
            out["routes"] = routes
        if tkeys:
            out["tcp"] = tcp
    if args.hcm_keys:
        hkeys = args.hcm_keys.split(",")
        hcms = {}
        dyn = dump.get("ListenersConfigDump", {}).get("dynamic_listeners", {})
        for name, entry in sorted(dyn.items()):
            listener = entry["active_state"]["listener"]
            for i, chain in enumerate(listener.get("filter_chains", [])):
                for fname, f in chain.get("filters", {}).items():
                    if fname == "[envoy.filters.network.http_connection_manager]":
                        cfg = f.get("typed_config", {})
                        hcms.setdefault(name[1:-1], []).append(
                            {k: denormalise(cfg[k]) for k in hkeys if k in cfg})
        out["hcm"] = hcms
    json.dump(out, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
