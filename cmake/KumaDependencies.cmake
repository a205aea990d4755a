# Third-party dependencies, all from Debian 12 packages (see tools/setup.sh).
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED) # CMake's module: Debian 12 ships no protobuf-config.cmake
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(nlohmann_json CONFIG REQUIRED)
find_package(yaml-cpp CONFIG REQUIRED) # target: yaml-cpp (not namespaced in 0.7)
find_package(spdlog CONFIG REQUIRED)
find_package(fmt CONFIG REQUIRED)
find_package(CLI11 CONFIG REQUIRED)
find_package(GTest CONFIG REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
pkg_check_modules(CARES REQUIRED IMPORTED_TARGET libcares) # kuma-dp's DNS proxy
find_package(prometheus-cpp CONFIG REQUIRED) # target prometheus-cpp::core (text serializer only)
if(NOT KUMA_UNIT_TESTS_ONLY AND NOT KUMA_FUZZ)
  find_package(benchmark CONFIG REQUIRED)
endif()

# The Envoy API proto library is built once by its own CMake project (third_party/envoy_protos)
# with fixed flags and shared by every build flavour.
if(KUMA_ENVOY_PROTOS_DIR)
  add_library(kuma_envoy_protos STATIC IMPORTED GLOBAL)
  set_target_properties(kuma_envoy_protos PROPERTIES
    IMPORTED_LOCATION ${KUMA_ENVOY_PROTOS_DIR}/lib/libenvoy_protos.a)
  target_include_directories(kuma_envoy_protos SYSTEM INTERFACE ${KUMA_ENVOY_PROTOS_DIR}/include)
  target_link_libraries(kuma_envoy_protos INTERFACE protobuf::libprotobuf gRPC::grpc++)
  add_library(kuma::envoy_protos ALIAS kuma_envoy_protos)
endif()

# tcmalloc for the product binaries (not with sanitizers, which bring their own allocator).
pkg_check_modules(TCMALLOC IMPORTED_TARGET libtcmalloc)
add_library(kuma_malloc INTERFACE)
if(TCMALLOC_FOUND AND NOT KUMA_SANITIZE AND NOT KUMA_FUZZ)
  target_link_libraries(kuma_malloc INTERFACE PkgConfig::TCMALLOC)
endif()
