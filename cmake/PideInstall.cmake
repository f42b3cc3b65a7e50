# PideInstall.cmake — what `cmake --install` lays out besides the programs and adapters (their
# install() rules live next to their targets): WSDLs, schemas, SQL migrations, the migration
# script, the systemd unit and sysusers.d entry, and the example configuration. Layout and the
# reasons: docs/operator-guide.md. include()d once from the top-level CMakeLists.txt.
include_guard(GLOBAL)

install(DIRECTORY ${CMAKE_SOURCE_DIR}/wsdl/ DESTINATION ${PIDE_INSTALL_DATADIR}/wsdl
        FILES_MATCHING PATTERN "*.wsdl")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/schemas/ DESTINATION ${PIDE_INSTALL_DATADIR}/schemas
        FILES_MATCHING PATTERN "*.xsd")
install(DIRECTORY ${CMAKE_SOURCE_DIR}/sql/migrations/ DESTINATION ${PIDE_INSTALL_DATADIR}/sql/migrations
        FILES_MATCHING PATTERN "[0-9][0-9][0-9][0-9]_*.sql")
install(FILES ${CMAKE_SOURCE_DIR}/sql/README.md DESTINATION ${PIDE_INSTALL_DATADIR}/sql)

# pide-gateway-migrate finds the migrations relative to its own place, like the daemon its schemas.
file(RELATIVE_PATH PIDE_BINDIR_TO_DATADIR /p/${CMAKE_INSTALL_BINDIR} /p/${PIDE_INSTALL_DATADIR})
configure_file(${CMAKE_SOURCE_DIR}/tools/pide-gateway-migrate.in
               ${CMAKE_BINARY_DIR}/tools/pide-gateway-migrate @ONLY
               FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                                WORLD_READ WORLD_EXECUTE)
install(PROGRAMS ${CMAKE_BINARY_DIR}/tools/pide-gateway-migrate DESTINATION ${CMAKE_INSTALL_BINDIR})

# The system user; systemd-sysusers reads lib/sysusers.d (prefix-relative: /usr/lib/sysusers.d).
install(FILES ${CMAKE_SOURCE_DIR}/conf/pide-gateway.sysusers DESTINATION lib/sysusers.d
        RENAME pide-gateway.conf)

# The example configuration and the unit name installed paths, which are known only at install
# time (`cmake --install --prefix` and cpack choose the prefix then), so they are written by
# cmake/PideInstallGenerated.cmake when installing, not when configuring.
install(CODE "
  set(PIDE_SOURCE_DIR \"${CMAKE_SOURCE_DIR}\")
  set(PIDE_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
  set(PIDE_ADAPTERDIR \"${PIDE_INSTALL_ADAPTERDIR}\")
  set(PIDE_DATADIR \"${PIDE_INSTALL_DATADIR}\")
  set(PIDE_HAVE_SYSTEMD \"${LIBSYSTEMD_FOUND}\")
  include(\"${CMAKE_SOURCE_DIR}/cmake/PideInstallGenerated.cmake\")
")
