# cmake --install makes find_package(coport) work: targets coport::runtime,
# coport::transport, coport::network, coport::metrics, coport::registry, coport::groups,
# coport::testing (the stepped cluster fixture), the command coport::coport, and
# coport::asio (standalone Asio, found again on the user's machine, so the installed package
# names no path of the machine it was built on).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)
install(TARGETS coport_runtime coport_transport coport_network coport_metrics coport_registry
  coport_groups coport_testing
  EXPORT coport-targets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# detail/ headers that no public header includes (the libraries' own business) stay out.
install(DIRECTORY runtime/include/coport transport/include/coport network/include/coport
  metrics/include/coport groups/include/coport DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  PATTERN interner.hpp EXCLUDE PATTERN payload_codec.hpp EXCLUDE)
install(EXPORT coport-targets NAMESPACE coport:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/coport)
configure_package_config_file(cmake/coport-config.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/coport-config.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/coport)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/coport-config-version.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/coport-config.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/coport-config-version.cmake cmake/coport-asio.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/coport)
