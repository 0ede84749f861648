# coport::asio — standalone Asio (Debian's libasio-dev, 1.22, which ships no CMake config) as
# a target. One definition for both users of it: coport's own build (included by
# dependencies.cmake) and an installed coport (included by coport-config.cmake, so Asio is
# found again on the user's machine and the package names no path of the build machine).
# ASIO_DISABLE_STD_ALIGNED_ALLOC: Asio 1.22 picks aligned_alloc or operator new by a
# libstdc++ macro that exists only if a standard header came first, so translation units
# disagree and memory from operator new reaches free() (AddressSanitizer:
# alloc-dealloc-mismatch).
# Sets coport_asio_FOUND (FALSE when asio.hpp is not found).
set(coport_asio_FOUND TRUE)
if(NOT TARGET coport::asio)
  find_path(COPORT_ASIO_INCLUDE_DIR asio.hpp)
  if(NOT COPORT_ASIO_INCLUDE_DIR)
    set(coport_asio_FOUND FALSE)
    return()
  endif()
  find_package(Threads REQUIRED)
  add_library(coport::asio INTERFACE IMPORTED GLOBAL)
  set_target_properties(coport::asio PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${COPORT_ASIO_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "ASIO_STANDALONE;ASIO_NO_DEPRECATED;ASIO_DISABLE_STD_ALIGNED_ALLOC"
    INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()
