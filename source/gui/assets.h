#pragma once

// File: assets.h
// The GUI's files, compiled into the binary (source/gui/CMakeLists.txt generates the definition
// from source/gui/web/ with cmake/KumaEmbedFiles.cmake).

#include <string_view>
#include <vector>

namespace kuma::gui {

struct Asset {
  /** Path relative to source/gui/web/, '/' separated, e.g. "assets/js/app.js". */
  std::string_view path;
  std::string_view data;
};

/** Every embedded file, sorted by path. */
const std::vector<Asset>& embeddedAssets();

}  // namespace kuma::gui
