"""Unit tests of the harness's YAML subset, normalisation and diff (no control plane needed)."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import conformance  # noqa: E402
import normalize  # noqa: E402
import yamlite  # noqa: E402

PEM_TEXT = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def cluster_dump(clusters, version="1"):
    return {
        "configs": [
            {
                "@type": "type.googleapis.com/envoy.admin.v3.ClustersConfigDump",
                "version_info": version,
                "dynamic_active_clusters": [
                    {"version_info": version, "last_updated": "2026-12-06T07:00:00.123Z", "cluster": c}
                    for c in clusters
                ],
            }
        ]
    }


class YamliteTest(unittest.TestCase):
    def test_documents_mappings_sequences_and_scalars(self):
        docs = yamlite.load_all(
            "type: Mesh  # a comment\n"
            "name: 'it''s'\n"
            'skip: ["*"]\n'
            "conf: {}\n"
            "items:\n"
            "  - name: a\n"
            "    weight: 80\n"
            "    tags:\n"
            "      version: \"v1\"\n"
            "  - plain\n"
            "---\n"
            "flag: true\n"
            "nothing: null\n"
            "url: https://x:1/y\n"
        )
        self.assertEqual(
            docs,
            [
                {
                    "type": "Mesh",
                    "name": "it's",
                    "skip": ["*"],
                    "conf": {},
                    "items": [{"name": "a", "weight": 80, "tags": {"version": "v1"}}, "plain"],
                },
                {"flag": True, "nothing": None, "url": "https://x:1/y"},
            ],
        )

    def test_sequence_at_the_parent_key_indentation(self):
        self.assertEqual(yamlite.load_all("a:\n- x: 1\n- y\nb: 2\n"), [{"a": [{"x": 1}, "y"], "b": 2}])

    def test_rejects_what_it_cannot_mean_exactly(self):
        for text in ("a: &anchor 1\n", "a:\n\tb: 1\n", "a: 1\na: 2\n", "a: [1, 2\n", "a: 1\n  b: 2\n"):
            with self.assertRaises(ValueError, msg=text):
                yamlite.load_all(text)


class NormalizeTest(unittest.TestCase):
    def test_volatile_fields_key_material_uuids_and_timestamps_go(self):
        ctx = normalize.Context()
        dump = cluster_dump(
            [
                {
                    "name": "c",
                    "transport_socket": {"trusted_ca": {"inline_bytes": "TUlJQg=="}},
                    "note": "id 123e4567-e89b-12d3-a456-426614174000 at 2026-12-06T07:00:00Z",
                    "pem": PEM_TEXT,
                }
            ]
        )
        out = normalize.normalize(dump, ctx)
        cluster = out["ClustersConfigDump"]["dynamic_active_clusters"]["[c]"]
        self.assertNotIn("version_info", out["ClustersConfigDump"])
        self.assertEqual(set(cluster), {"cluster"})
        self.assertEqual(cluster["cluster"]["transport_socket"]["trusted_ca"]["inline_bytes"], "<key-material>")
        self.assertEqual(cluster["cluster"]["note"], "id <uuid> at <time>")
        self.assertEqual(cluster["cluster"]["pem"], "<pem>")

    def test_harness_ports_and_paths_become_labels_in_numbers_and_strings(self):
        ctx = normalize.Context(ports={27123: "web", 27001: "dp-server"}, paths={"/tmp/kconf-x/dp": "<dp-workdir>"})
        dump = cluster_dump(
            [
                {"name": "localhost:27123", "port_value": 27123, "other": 271230, "weight": 80},
                {"name": "sock", "path": "/tmp/kconf-x/dp/kuma-envoy-admin.sock", "url": "127.0.0.1:27001"},
            ]
        )
        clusters = normalize.normalize(dump, ctx)["ClustersConfigDump"]["dynamic_active_clusters"]
        self.assertEqual(
            clusters["[localhost:<port:web>]"]["cluster"],
            {"name": "localhost:<port:web>", "port_value": "<port:web>", "other": 271230, "weight": 80},
        )
        self.assertEqual(clusters["[sock]"]["cluster"]["path"], "<dp-workdir>/kuma-envoy-admin.sock")
        self.assertEqual(clusters["[sock]"]["cluster"]["url"], "127.0.0.1:<port:dp-server>")

    def test_bootstrap_node_versions_extensions_features_and_dataplane(self):
        dump = {
            "configs": [
                {
                    "@type": "type.googleapis.com/envoy.admin.v3.BootstrapConfigDump",
                    "bootstrap": {
                        "node": {
                            "user_agent_build_version": {"version": {"major_number": 1}},
                            "extensions": [{"name": "a"}, {"name": "b"}],
                            "metadata": {
                                "version": {"kumaDp": {"version": "2.14.3"}},
                                "workdir": "/w",
                                "features": ["b", "a"],
                                "dataplane.resource": '{"name":"web","port":27123}',
                            },
                        }
                    },
                }
            ]
        }
        ctx = normalize.Context(ports={27123: "web"})
        node = normalize.normalize(dump, ctx)["BootstrapConfigDump"]["bootstrap"]["node"]
        self.assertEqual(node["user_agent_build_version"], "<envoy-version>")
        self.assertEqual(node["extensions"], "<envoy-extensions>")
        self.assertEqual(
            node["metadata"],
            {
                "version": "<kuma-dp-and-envoy-versions>",
                "workdir": "/w",
                "features": {"[a]": True, "[b]": True},
                "dataplane.resource": {"name": "web", "port": "<port:web>"},
            },
        )

    def test_resource_lists_ignore_order_inner_named_lists_keep_it(self):
        a = cluster_dump([{"name": "x", "filters": [{"name": "f1"}, {"name": "f2"}]}, {"name": "y"}])
        b = cluster_dump([{"name": "y"}, {"name": "x", "filters": [{"name": "f2"}, {"name": "f1"}]}], version="7")
        d = normalize.diff(normalize.normalize(a), normalize.normalize(b))
        self.assertEqual(d.different, ["ClustersConfigDump/dynamic_active_clusters[x]/cluster/filters/#order"])
        self.assertEqual(d.only_ours, [])
        self.assertEqual(d.only_theirs, [])
        self.assertEqual(d.compared, d.equal + 1)

    def test_resources_sharing_a_name_are_keyed_by_content_not_position(self):
        # Two listeners' inline route configurations of one name, listed by Envoy in any order.
        a = cluster_dump([{"name": "r", "v": 1}, {"name": "x"}, {"name": "r", "v": 2}])
        b = cluster_dump([{"name": "r", "v": 2}, {"name": "r", "v": 1}, {"name": "x"}], version="7")
        d = normalize.diff(normalize.normalize(a), normalize.normalize(b))
        self.assertEqual((d.different, d.only_ours, d.only_theirs), ([], [], []))
        clusters = normalize.normalize(a)["ClustersConfigDump"]["dynamic_active_clusters"]
        self.assertEqual(sorted(clusters), ["[r#0]", "[r#1]", "[x]"])
        self.assertEqual(clusters["[r#1]"]["cluster"]["v"], 2)

    def test_unnamed_or_duplicate_inner_lists_stay_positional(self):
        out = normalize.normalize(cluster_dump([{"name": "x", "l": [{"name": "a"}, {"name": "a"}], "m": [1, 2]}]))
        cluster = out["ClustersConfigDump"]["dynamic_active_clusters"]["[x]"]["cluster"]
        self.assertEqual(cluster["l"], [{"name": "a"}, {"name": "a"}])
        self.assertEqual(cluster["m"], [1, 2])


class DiffTest(unittest.TestCase):
    def test_counts_and_percent(self):
        ours = {"a": {"b": 1, "c": "x", "e": []}, "only": 1}
        theirs = {"a": {"b": 1, "c": "y", "e": []}, "theirs": {"d": True}}
        d = normalize.diff(ours, theirs)
        self.assertEqual(d.compared, 5)
        self.assertEqual(d.equal, 2)
        self.assertEqual(d.different, ["a/c"])
        self.assertEqual(d.only_ours, ["only"])
        self.assertEqual(d.only_theirs, ["theirs/d"])
        self.assertAlmostEqual(d.percent, 40.0)

    def test_nameless_route_configs_compare_by_virtual_hosts_not_position(self):
        def routes(configs):
            return {"RoutesConfigDump": {"static_route_configs": configs}}

        dyn = {"route_config": {"virtual_hosts": {"[_kuma:dynamicconfig]": {"name": "x"}}}}
        named = {"route_config": {"name": "inbound:web"}}
        ours = routes({"[#3]": dyn, "[inbound:web]": named})
        theirs = routes({"[#0]": dyn, "[inbound:web]": named})
        d = normalize.diff(ours, theirs)
        self.assertEqual((d.different, d.only_ours, d.only_theirs), ([], [], []))
        changed = routes({"[#0]": {"route_config": {"virtual_hosts": {"[other]": {"name": "y"}}}}})
        d = normalize.diff(changed, theirs)
        self.assertTrue(d.only_ours and d.only_theirs)

    def test_type_matters_true_is_not_one(self):
        d = normalize.diff({"a": True}, {"a": 1})
        self.assertEqual(d.different, ["a"])

    def test_identical_dumps_match_fully(self):
        dump = normalize.normalize(cluster_dump([{"name": "x", "connect_timeout": "5s"}]))
        d = normalize.diff(dump, dump)
        self.assertEqual((d.equal, d.compared, d.percent), (d.compared, d.compared, 100.0))
        self.assertGreater(d.compared, 0)


class HarnessTest(unittest.TestCase):
    def test_rest_paths_of_fixture_types(self):
        self.assertEqual(conformance.resource_path({"type": "Mesh", "name": "default"}), "/meshes/default")
        cases = {
            "Dataplane": "dataplanes",
            "TrafficRoute": "traffic-routes",
            "MeshHTTPRoute": "meshhttproutes",
            "MeshTCPRoute": "meshtcproutes",
            "MeshLoadBalancingStrategy": "meshloadbalancingstrategies",
            "MeshTrafficPermission": "meshtrafficpermissions",
            "MeshPassthrough": "meshpassthroughs",
        }
        for kind, plural in cases.items():
            self.assertEqual(
                conformance.resource_path({"type": kind, "name": "n", "mesh": "m"}), f"/meshes/m/{plural}/n"
            )
        with self.assertRaises(ValueError):
            conformance.resource_path({"type": "Dataplane", "name": "n"})

    def test_every_shipped_case_parses_and_names_its_ports(self):
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases")
        names = sorted(os.listdir(root))
        self.assertIn("plain", names)
        for name in names:
            case = conformance.Case(os.path.join(root, name))
            ports = {label: 27000 + i for i, label in enumerate(case.port_labels)}
            self.assertIn("admin", ports, name)
            for path in case.resource_files + [case.proxy_file]:
                for resource in yamlite.load_all(case.render(path, ports)):
                    conformance.resource_path(resource)
                    self.assertNotIn("{{port:", str(resource))  # Go templates may stay
            if case.dns_queries:
                # The names are asked of kuma-dp's embedded DNS proxy: its port must be set.
                _, env = case.dp_extras(ports)
                self.assertIn("KUMA_DNS_PROXY_PORT", env, name)
                for qname, expected in case.dns_queries:
                    self.assertTrue(qname and expected, name)
        self.assertTrue(conformance.Case(os.path.join(root, "dns-meshservice-everywhere")).dns_queries)


if __name__ == "__main__":
    unittest.main()
