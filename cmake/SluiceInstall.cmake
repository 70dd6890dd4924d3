# `cmake --install build --prefix P`: sluiced and sluicectl in P/bin, the SDK
# (libsluice-sdk, its headers, a CMake package and a pkg-config file) in
# P/lib and P/include, the bundled plugins in P/lib/sluice (installed by
# sluice_add_plugin), example configuration in P/share/sluice/examples.
# Fixed folder names rather than GNUInstallDirs' multiarch ones: the
# binaries find lib/ and lib/sluice/ relative to themselves ($ORIGIN/../lib).
include(CMakePackageConfigHelpers)

install(TARGETS sluice-sdk sluice-sdk-testing EXPORT SluiceTargets
        LIBRARY DESTINATION lib
        INCLUDES DESTINATION include)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/sdk/include/sluice DESTINATION include)
install(TARGETS sluiced sluicectl RUNTIME DESTINATION bin)
install(FILES ${PROJECT_SOURCE_DIR}/etc/sluice.properties ${PROJECT_SOURCE_DIR}/etc/dev.properties
              ${PROJECT_SOURCE_DIR}/etc/sluiced.service
        DESTINATION share/sluice/examples)

install(EXPORT SluiceTargets NAMESPACE Sluice:: DESTINATION lib/cmake/Sluice)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SluiceConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/SluiceConfig.cmake
                              INSTALL_DESTINATION lib/cmake/Sluice)
# The plugin ABI's major version is the SDK's: a plugin needs the same one.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake COMPATIBILITY SameMajorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SluiceConfig.cmake ${PROJECT_BINARY_DIR}/SluiceConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/SluicePlugin.cmake
        DESTINATION lib/cmake/Sluice)

# A sanitized SDK asks the same of its users (see sdk/CMakeLists.txt).
set(SLUICE_PC_SANITIZER_FLAGS "")
if(SLUICE_SANITIZE)
  list(JOIN SLUICE_SANITIZER_FLAGS " " SLUICE_PC_SANITIZER_FLAGS)
  string(PREPEND SLUICE_PC_SANITIZER_FLAGS " ")
endif()
configure_file(${PROJECT_SOURCE_DIR}/cmake/sluice-sdk.pc.in ${PROJECT_BINARY_DIR}/sluice-sdk.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/sluice-sdk.pc DESTINATION lib/pkgconfig)
