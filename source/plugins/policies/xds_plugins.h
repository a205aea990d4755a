#pragma once

// File: xds_plugins.h
// The table of policy plugins the xDS generator runs (kuma/xds/policy_plugin.h): one entry per
// policy folder with an `xds_configurer.h`, generated from the policy list of this folder's
// CMakeLists.txt, sorted by PolicyPlugin::order() (Kuma's order). The control plane builds it once
// and hands it to every generation through ProxyOptions::plugins; there is no process-wide table.

#include "kuma/xds/policy_plugin.h"

namespace kuma::policies {

/** A fresh table of every xDS policy plugin, sorted by order (stable: list order on ties). */
xds::PolicyPluginListConstSharedPtr makeXdsPolicyPlugins();

}  // namespace kuma::policies
