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

# sluice_add_plugin_test(NAME PLUGIN TARGET SOURCES ... [LIBRARIES ...])
# A CppUnit test executable for a plugin, registered with ctest (call
# enable_testing() first). It links Sluice::testing and CppUnit, and runs with
# SLUICE_PLUGIN set to the plugin's built library, which
# sluice::testing::PluginHarness(sluice::testing::pluginUnderTest()) loads.
# A source calls sluice::testing::runTests() from main (sluice/testing/RunTests.h).
function(sluice_add_plugin_test name)
  cmake_parse_arguments(TEST "" "PLUGIN" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT TARGET sluice_cppunit)
    find_package(PkgConfig REQUIRED)
    pkg_check_modules(SLUICE_CPPUNIT REQUIRED IMPORTED_TARGET cppunit)
    add_library(sluice_cppunit INTERFACE IMPORTED)
    target_link_libraries(sluice_cppunit INTERFACE PkgConfig::SLUICE_CPPUNIT)
  endif()
  add_executable(${name} ${TEST_SOURCES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_link_libraries(${name} PRIVATE Sluice::testing sluice_cppunit ${TEST_LIBRARIES})
  add_dependencies(${name} ${TEST_PLUGIN})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES ENVIRONMENT "SLUICE_PLUGIN=$<TARGET_FILE:${TEST_PLUGIN}>")
endfunction()
