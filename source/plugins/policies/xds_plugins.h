#pragma once

// File: xds_plugins.h
// The explicit table of policy plugins the xDS generators run (no static registration): one
// entry per Mesh* policy type that has an xDS configurer, sorted by PolicyPlugin::order().

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies {

/** A fresh table of every xDS policy plugin, sorted by order (stable: table order on ties). */
xds::PolicyPluginList makeXdsPolicyPlugins();

/**
 * The process-wide table, built by makeXdsPolicyPlugins() on first use and immutable after that
 * (thread-safe; plugins are stateless).
 */
const xds::PolicyPluginList& xdsPolicyPlugins();

}  // namespace kuma::policies
