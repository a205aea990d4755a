#pragma once

// File: gui.h
// Serves the web GUI (docs/gui.md) under apiServer.gui.basePath: the embedded files with their
// Content-Type, a strong ETag and revalidation (`Cache-Control: no-cache`, 304 on If-None-Match),
// and index.html for every other path under the base (history routing: deep links survive a
// reload). Paths under `<base>/assets/` that name no file answer 404. Independent of the HTTP
// library: the API server maps requests and replies.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "source/gui/assets.h"

namespace kuma::gui {

struct GuiReply {
  int status = 200;
  std::string body;
  std::string contentType;
  /** Extra headers (ETag, Cache-Control, X-Content-Type-Options, ...). */
  std::vector<std::pair<std::string, std::string>> headers;
};

class Gui {
 public:
  /**
   * @param basePath where the GUI lives, e.g. "/gui" (no trailing slash needed); index.html's
   *        `__KUMA_GUI_BASE__` placeholders are replaced with it.
   * @param assets the files to serve (embeddedAssets() in the product, others in tests).
   */
  explicit Gui(std::string basePath, const std::vector<Asset>& assets = embeddedAssets());

  /** Is `path` (the request path, without query) the GUI's? */
  bool owns(std::string_view path) const;

  /**
   * The reply for a GET/HEAD of `path` (owns(path) must hold). `ifNoneMatch` is the request's
   * If-None-Match header (empty for none).
   */
  GuiReply serve(std::string_view path, std::string_view ifNoneMatch) const;

  static std::string contentTypeOf(std::string_view path);

 private:
  struct File {
    std::string body;
    std::string contentType;
    std::string etag;
  };

  std::string base_;  // without trailing slash; "" when the GUI is at "/"
  std::map<std::string, File, std::less<>> files_;
  File index_;
};

}  // namespace kuma::gui
