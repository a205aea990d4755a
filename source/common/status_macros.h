#pragma once

// File: status_macros.h
// Propagation helpers for absl::Status / absl::StatusOr (Debian's abseil 20220623 predates
// absl's own status_macros.h).
//
//   KUMA_RETURN_IF_ERROR(store.remove(type, key));
//   KUMA_ASSIGN_OR_RETURN(auto resource, store.get(type, key));

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KUMA_STATUS_CONCAT_INNER_(a, b) a##b
#define KUMA_STATUS_CONCAT_(a, b) KUMA_STATUS_CONCAT_INNER_(a, b)

#define KUMA_RETURN_IF_ERROR(expr)              \
  do {                                          \
    const ::absl::Status kuma_status_ = (expr); \
    if (!kuma_status_.ok()) {                   \
      return kuma_status_;                      \
    }                                           \
  } while (false)

#define KUMA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                \
  if (!statusor.ok()) {                                   \
    return statusor.status();                             \
  }                                                       \
  lhs = std::move(*statusor)

#define KUMA_ASSIGN_OR_RETURN(lhs, rexpr) \
  KUMA_ASSIGN_OR_RETURN_IMPL_(KUMA_STATUS_CONCAT_(kuma_statusor_, __LINE__), lhs, rexpr)
