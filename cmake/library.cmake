# coport_library(NAME SOURCES...) — one of coport's libraries: target coport_NAME (alias and
# exported name coport::NAME), its include/ directory public (installed under the prefix's
# include/), coport_internal linked at build time only, the project's warnings. The caller
# adds what the library links.
function(coport_library name)
  add_library(coport_${name} ${ARGN})
  add_library(coport::${name} ALIAS coport_${name})
  set_target_properties(coport_${name} PROPERTIES EXPORT_NAME ${name} OUTPUT_NAME coport_${name})
  target_include_directories(coport_${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_link_libraries(coport_${name} PRIVATE $<BUILD_INTERFACE:coport_internal>)
  coport_warnings(coport_${name})
endfunction()
