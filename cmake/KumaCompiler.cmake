# Compiler settings shared by every kuma target (applied through kuma_cc_* helpers, never globally).
find_program(CCACHE_PROGRAM ccache)
if(CCACHE_PROGRAM)
  set(CMAKE_C_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${CCACHE_PROGRAM})
endif()

add_library(kuma_warnings INTERFACE)
target_compile_options(kuma_warnings INTERFACE -Wall -Wextra -Werror)

add_library(kuma_sanitizers INTERFACE)
if(KUMA_FUZZ)
  # The fuzz flavour (docs/fuzzing.md): libFuzzer's coverage instrumentation on every kuma
  # library; the fuzz targets add -fsanitize=fuzzer at link time (test/fuzz/CMakeLists.txt).
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "KUMA_FUZZ needs clang (libFuzzer): configure with CXX=clang++-16")
  endif()
  target_compile_options(kuma_sanitizers INTERFACE -fsanitize=address,undefined,fuzzer-no-link
                                                   -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(kuma_sanitizers INTERFACE -fsanitize=address,undefined)
elseif(KUMA_SANITIZE)
  target_compile_options(kuma_sanitizers INTERFACE -fsanitize=address,undefined
                                                   -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(kuma_sanitizers INTERFACE -fsanitize=address,undefined)
endif()
