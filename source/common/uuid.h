#pragma once

// File: uuid.h
// Random (version 4, RFC 4122) UUIDs in their textual form, from OpenSSL's CSPRNG: token ids,
// xDS versions, subscription ids, leader-election identities.

#include <string>

namespace kuma::common {

/** "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx", lower-case hex. Thread-safe. */
std::string uuidV4();

}  // namespace kuma::common
