# Every dependency comes from a Debian package; nothing is vendored or downloaded.
find_package(Threads REQUIRED)
find_package(fmt REQUIRED)  # libfmt-dev: log lines and printable IDs
# libcereal-dev: user types that cross between nodes; coport/serialize.hpp, a public header,
# includes it, so coport::runtime passes it on.
find_package(cereal 1.3 REQUIRED)

# libasio-dev (standalone Asio 1.22) ships no CMake config: find the header, make a target.
find_path(COPORT_ASIO_INCLUDE_DIR asio.hpp REQUIRED)
if(NOT TARGET coport_asio)
  add_library(coport_asio INTERFACE)
  set_target_properties(coport_asio PROPERTIES EXPORT_NAME asio)
  target_include_directories(coport_asio SYSTEM INTERFACE ${COPORT_ASIO_INCLUDE_DIR})
  # ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio 1.22 picks aligned_alloc or operator new by a libstdc++
  # macro that exists only if a standard header came first, so translation units disagree and
  # memory from operator new reaches free() (AddressSanitizer: alloc-dealloc-mismatch).
  target_compile_definitions(coport_asio INTERFACE ASIO_STANDALONE ASIO_NO_DEPRECATED
    ASIO_DISABLE_STD_ALIGNED_ALLOC)
  target_link_libraries(coport_asio INTERFACE Threads::Threads)
  add_library(coport::asio ALIAS coport_asio)
endif()

if(COPORT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "COPORT_FUZZ needs clang (Debian's clang-14): CXX=clang++-14")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
    -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
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
