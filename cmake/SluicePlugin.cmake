# sluice_add_plugin(NAME SOURCES ... [LIBRARIES ...] [OUTPUT_DIRECTORY DIR])
# A plugin library as the kernel loads it: a MODULE named NAME.so, hidden
# visibility (only the SDK's marked classes and the entry point are seen),
# linked to the SDK, installed into lib/sluice under the install prefix.
# The same function serves Sluice's own plugins and plugins built out of tree
# against an installed SDK (find_package(Sluice) brings it).
function(sluice_add_plugin name)
  cmake_parse_arguments(PLUGIN "" "OUTPUT_DIRECTORY" "SOURCES;LIBRARIES" ${ARGN})
  add_library(${name} MODULE ${PLUGIN_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX ""
    OUTPUT_NAME ${name}
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  if(PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${PLUGIN_OUTPUT_DIRECTORY})
  elseif(SLUICE_PLUGIN_OUTPUT_DIRECTORY)
    set_target_properties(${name} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${SLUICE_PLUGIN_OUTPUT_DIRECTORY})
  endif()
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_link_libraries(${name} PRIVATE Sluice::sdk ${PLUGIN_LIBRARIES})
  if(NOT PLUGIN_OUTPUT_DIRECTORY)  # test plugins name their own folder and are not installed
    install(TARGETS ${name} LIBRARY DESTINATION lib/sluice)
  endif()
endfunction()
