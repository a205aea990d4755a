#pragma once

// File: auth.h
// Who is calling (spec §4.1): a direct loopback request is the admin when
// apiServer.authn.localhostIsAdmin; everyone else is anonymous. User tokens are not supported yet:
// a request carrying a bearer token is answered 401 where admin rights are needed.

#include <string>
#include <vector>

namespace httplib {
struct Request;
}

namespace kuma::api_server {

struct Identity {
  std::string name;
  std::vector<std::string> groups;
  bool unauthenticatedBearer = false;

  bool isAdmin() const;
  /** "name/group1,group2" as Kuma prints it in Access Denied errors. */
  std::string describe() const;
};

/** True for a request from a loopback peer with no proxy headers and a loopback Host/Origin. */
bool isDirectLoopbackRequest(const httplib::Request& req);

Identity identify(const httplib::Request& req, bool localhostIsAdmin);

}  // namespace kuma::api_server
