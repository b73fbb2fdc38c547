# Install rules: headers, the exported target pgrad::pgrad, and a relocatable package config.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(DIRECTORY include/pgrad DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS pgrad EXPORT pgradTargets)
install(EXPORT pgradTargets
  NAMESPACE pgrad::
  DESTINATION ${CMAKE_INSTALL_DATADIR}/pgrad/cmake)

configure_package_config_file(
  ${CMAKE_CURRENT_LIST_DIR}/pgradConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/pgradConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_DATADIR}/pgrad/cmake)
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/pgradConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMajorVersion
  ARCH_INDEPENDENT)
install(FILES
  ${CMAKE_CURRENT_BINARY_DIR}/pgradConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/pgradConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_DATADIR}/pgrad/cmake)
