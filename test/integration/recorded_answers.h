#pragma once

// File: recorded_answers.h
// For tests that compare kuma-cp's REST answers with answers recorded from Kuma 2.14.3 (files in
// $KUMA_INSPECT_TESTDATA): reading them, one raw REST call, and dropping the members that differ
// between any two control planes (times).

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "httplib.h"
#include "nlohmann/json.hpp"

namespace kuma::test {

inline std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

/** The recorded file `name` under $KUMA_INSPECT_TESTDATA. */
inline std::string testdata(const std::string& name) {
  const char* dir = std::getenv("KUMA_INSPECT_TESTDATA");
  EXPECT_NE(dir, nullptr);
  return std::string(dir != nullptr ? dir : ".") + "/" + name;
}

struct RawReply {
  int status = 0;
  std::string raw;
};

/** One GET or PUT (JSON `body`) to the API on 127.0.0.1:`port`; a failure when unanswered. */
inline RawReply call(uint16_t port, const std::string& method, const std::string& path,
                     const std::string& body = "") {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(std::chrono::seconds(10));
  httplib::Result res =
      method == "PUT" ? client.Put(path, body, "application/json") : client.Get(path);
  RawReply out;
  if (!res) {
    ADD_FAILURE() << method << " " << path << ": " << httplib::to_string(res.error());
    return out;
  }
  out.status = res->status;
  out.raw = res->body;
  return out;
}

/** Drops creation/modification times, recursively. */
inline void dropTimes(nlohmann::json& v) {
  if (v.is_object()) {
    v.erase("creationTime");
    v.erase("modificationTime");
    v.erase("createdAt");
    for (auto& [k, child] : v.items()) {
      dropTimes(child);
    }
  } else if (v.is_array()) {
    for (auto& child : v) {
      dropTimes(child);
    }
  }
}

}  // namespace kuma::test
