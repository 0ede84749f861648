# Every dependency comes from a Debian package; nothing is vendored or downloaded.
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)  # libfmt-dev: log lines and printable IDs
# libcereal-dev: user types that cross between nodes; coport/serialize.hpp, a public header,
# includes it, so coport::runtime passes it on.
find_package(cereal 1.3 REQUIRED)

# libasio-dev: standalone Asio, as the target coport::asio (cmake/coport-asio.cmake, which
# the installed package uses too).
include(${CMAKE_CURRENT_LIST_DIR}/coport-asio.cmake)
include(GNUInstallDirs)  # coport_library names the install include directory
if(NOT coport_asio_FOUND)
  message(FATAL_ERROR "coport needs standalone Asio (Debian: libasio-dev)")
endif()

if(COPORT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "COPORT_FUZZ needs clang (Debian's clang-14): CXX=clang++-14")
  endif()
  # The sanitizers the fuzz targets run under; empty: libFuzzer alone (glibc's allocator, to
  # tell what the target holds from what ASan's allocator and shadow keep).
  set(COPORT_FUZZ_SANITIZE "address,undefined" CACHE STRING
    "Sanitizers of a COPORT_FUZZ build (empty: libFuzzer alone)")
  if(COPORT_FUZZ_SANITIZE)
    add_compile_options(-fsanitize=fuzzer-no-link,${COPORT_FUZZ_SANITIZE} -fno-omit-frame-pointer
      -fno-sanitize-recover=undefined)
    add_link_options(-fsanitize=${COPORT_FUZZ_SANITIZE})
  else()
    add_compile_options(-fsanitize=fuzzer-no-link -fno-omit-frame-pointer)
  endif()
endif()
if(COPORT_SANITIZE STREQUAL "address")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(COPORT_SANITIZE STREQUAL "thread")
  # -Wno-tsan: Asio's fences (which TSan does not model) are not ours to change.
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
elseif(NOT COPORT_SANITIZE STREQUAL "")
  message(FATAL_ERROR "COPORT_SANITIZE must be '', 'address' or 'thread'")
endif()
