#include "source/gui/gui.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace kuma::gui {
namespace {

std::string header(const GuiReply& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) {
      return v;
    }
  }
  return "";
}

const std::vector<Asset>& fakeAssets() {
  static const std::vector<Asset> kAssets = {
      {"assets/app.js", "export const x = 1;"},
      {"assets/style.css", "body{}"},
      {"index.html", "<base href=\"__KUMA_GUI_BASE__/\"><meta content=\"__KUMA_GUI_BASE__\">"},
  };
  return kAssets;
}

TEST(GuiTest, OwnsOnlyPathsUnderTheBase) {
  Gui gui("/gui", fakeAssets());
  EXPECT_TRUE(gui.owns("/gui"));
  EXPECT_TRUE(gui.owns("/gui/"));
  EXPECT_TRUE(gui.owns("/gui/meshes/default"));
  EXPECT_FALSE(gui.owns("/guide"));
  EXPECT_FALSE(gui.owns("/meshes"));
  EXPECT_FALSE(gui.owns("/"));
}

TEST(GuiTest, IndexHasTheBasePathSubstituted) {
  Gui gui("/ui/", fakeAssets());
  GuiReply r = gui.serve("/ui", "");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, "<base href=\"/ui/\"><meta content=\"/ui\">");
  EXPECT_EQ(header(r, "Cache-Control"), "no-cache");
  EXPECT_FALSE(header(r, "ETag").empty());
}

TEST(GuiTest, AssetsHaveTheirContentType) {
  Gui gui("/gui", fakeAssets());
  GuiReply js = gui.serve("/gui/assets/app.js", "");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "export const x = 1;");
  EXPECT_EQ(js.contentType, "text/javascript; charset=utf-8");
  GuiReply css = gui.serve("/gui/assets/style.css", "");
  EXPECT_EQ(css.contentType, "text/css; charset=utf-8");
  EXPECT_NE(header(js, "ETag"), header(css, "ETag"));
  EXPECT_EQ(header(js, "X-Content-Type-Options"), "nosniff");
}

TEST(GuiTest, DeepLinksAnswerIndex) {
  Gui gui("/gui", fakeAssets());
  const std::string index = gui.serve("/gui/", "").body;
  for (const char* path : {"/gui/meshes/default/data-planes/web-1", "/gui/policies", "/gui//x",
                           "/gui/index.html", "/gui/../etc/passwd"}) {
    GuiReply r = gui.serve(path, "");
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body, index) << path;
    EXPECT_EQ(r.contentType, "text/html; charset=utf-8") << path;
  }
}

TEST(GuiTest, UnknownAssetIs404NotIndex) {
  Gui gui("/gui", fakeAssets());
  GuiReply r = gui.serve("/gui/assets/missing.js", "");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body.find("<base"), std::string::npos);
}

TEST(GuiTest, IfNoneMatchAnswers304) {
  Gui gui("/gui", fakeAssets());
  const std::string etag = header(gui.serve("/gui/assets/app.js", ""), "ETag");
  GuiReply same = gui.serve("/gui/assets/app.js", etag);
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.body.empty());
  EXPECT_EQ(gui.serve("/gui/assets/app.js", "\"other\", W/" + etag).status, 304);
  EXPECT_EQ(gui.serve("/gui/assets/app.js", "\"other\"").status, 200);
  EXPECT_EQ(gui.serve("/gui/assets/style.css", etag).status, 200);
}

TEST(GuiTest, EmbeddedFilesIncludeTheApp) {
  const auto& assets = embeddedAssets();
  auto has = [&](std::string_view p) {
    return std::any_of(assets.begin(), assets.end(),
                       [&](const Asset& a) { return a.path == p && !a.data.empty(); });
  };
  EXPECT_TRUE(has("index.html"));
  EXPECT_TRUE(has("assets/style.css"));
  EXPECT_TRUE(has("assets/js/app.js"));
  Gui gui("/gui");
  const std::string index = gui.serve("/gui/", "").body;
  EXPECT_NE(index.find("/gui/assets/js/app.js"), std::string::npos);
  // Every file index.html names (stylesheet, app, module preloads) is embedded.
  size_t named = 0;
  for (size_t at = index.find("href=\"/gui/assets/"); at != std::string::npos;
       at = index.find("href=\"/gui/assets/", at + 1)) {
    const size_t start = at + 6;
    const std::string path = index.substr(start, index.find('"', start) - start);
    EXPECT_EQ(gui.serve(path, "").status, 200) << path;
    ++named;
  }
  EXPECT_GE(named, 3u);
}

}  // namespace
}  // namespace kuma::gui
