# What `cmake --install` puts where (GNUInstallDirs): besides the rig binary,
# librig and its headers (rig/CMakeLists.txt), the pkg-config file, the
# manual pages, bash completion, the udev rule for the pens, the docs and the
# example fixtures `rig demo` runs with when installed.
file(RELATIVE_PATH RIG_PC_TO_PREFIX ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" RIG_PC_TO_PREFIX "${RIG_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/rig.pc.in ${PROJECT_BINARY_DIR}/rig.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/rig.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

file(GLOB RIG_MAN1_PAGES ${PROJECT_SOURCE_DIR}/man/*.1)
install(FILES ${RIG_MAN1_PAGES} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)

install(FILES ${PROJECT_SOURCE_DIR}/contrib/bash-completion/rig
  DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# udev reads rules from /usr/lib/udev/rules.d (and /lib/udev/rules.d).
set(RIG_UDEV_RULES_DIR lib/udev/rules.d CACHE STRING
  "Where the udev rule goes, relative to the prefix")
install(FILES ${PROJECT_SOURCE_DIR}/fixtures/udev/70-needle-rig.rules
  DESTINATION ${RIG_UDEV_RULES_DIR})

install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
file(GLOB RIG_DOCS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${RIG_DOCS} DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs)

# The example station and suites; `rig demo` uses them when run outside a
# checkout (rig/cli/cmd_demo.c). Installed data: read-only examples to copy.
install(FILES ${PROJECT_SOURCE_DIR}/fixtures/sim.yaml ${PROJECT_SOURCE_DIR}/fixtures/sim-usb.yaml
  DESTINATION ${CMAKE_INSTALL_DATADIR}/needle-rig/fixtures)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/fixtures/suites
  DESTINATION ${CMAKE_INSTALL_DATADIR}/needle-rig/fixtures)
