#include "source/gui/gui.h"

#include <cstdint>

#include <cstdio>

namespace kuma::gui {
namespace {

constexpr std::string_view kIndex = "index.html";
constexpr std::string_view kAssetsDir = "assets/";

// A strong ETag from the content (FNV-1a, 64 bit, plus the length): the files are fixed for the
// life of the binary, so it is computed once.
std::string etagOf(std::string_view data) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, "\"%016llx-%zx\"", static_cast<unsigned long long>(h),
                data.size());
  return buf;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string replaceAll(std::string s, std::string_view from, std::string_view to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// If-None-Match: `*` or a comma separated list of (possibly weak) tags.
bool matches(std::string_view ifNoneMatch, std::string_view etag) {
  while (!ifNoneMatch.empty()) {
    const size_t comma = ifNoneMatch.find(',');
    std::string_view tag = trim(ifNoneMatch.substr(0, comma));
    ifNoneMatch = comma == std::string_view::npos ? "" : ifNoneMatch.substr(comma + 1);
    if (tag.starts_with("W/")) {
      tag.remove_prefix(2);
    }
    if (tag == "*" || tag == etag) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string Gui::contentTypeOf(std::string_view path) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
  };
  for (const auto& [ext, type] : kTypes) {
    if (path.ends_with(ext)) {
      return std::string(type);
    }
  }
  return "application/octet-stream";
}

Gui::Gui(std::string basePath, const std::vector<Asset>& assets) : base_(std::move(basePath)) {
  while (!base_.empty() && base_.back() == '/') {
    base_.pop_back();
  }
  for (const Asset& a : assets) {
    File f;
    f.body = std::string(a.data);
    if (a.path == kIndex) {
      f.body = replaceAll(std::move(f.body), "__KUMA_GUI_BASE__", base_);
    }
    f.contentType = contentTypeOf(a.path);
    f.etag = etagOf(f.body);
    if (a.path == kIndex) {
      index_ = f;
    }
    files_.emplace(std::string(a.path), std::move(f));
  }
  if (index_.body.empty()) {
    index_ = {"<!doctype html><title>Kuma GUI</title><p>The GUI was built without its files.",
              "text/html; charset=utf-8", ""};
    index_.etag = etagOf(index_.body);
  }
}

bool Gui::owns(std::string_view path) const {
  if (base_.empty()) {
    return true;
  }
  return path == base_ ||
         (path.starts_with(base_) && path.size() > base_.size() && path[base_.size()] == '/');
}

GuiReply Gui::serve(std::string_view path, std::string_view ifNoneMatch) const {
  std::string_view rel = path.substr(std::min(path.size(), base_.size()));
  while (rel.starts_with('/')) {
    rel.remove_prefix(1);
  }
  const File* file = &index_;
  if (auto it = files_.find(rel); it != files_.end() && !rel.empty()) {
    file = &it->second;
  } else if (rel.starts_with(kAssetsDir)) {
    return {404,
            "404: Page Not Found",
            "text/plain; charset=utf-8",
            {{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}}};
  }
  GuiReply reply;
  reply.contentType = file->contentType;
  // Names carry no content hash, so every use revalidates (a 304 costs one round trip).
  reply.headers = {{"ETag", file->etag},
                   {"Cache-Control", "no-cache"},
                   {"X-Content-Type-Options", "nosniff"},
                   {"X-Frame-Options", "DENY"},
                   {"Referrer-Policy", "no-referrer"}};
  if (!ifNoneMatch.empty() && matches(ifNoneMatch, file->etag)) {
    reply.status = 304;
    return reply;
  }
  reply.body = file->body;
  return reply;
}

}  // namespace kuma::gui
