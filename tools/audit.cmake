# audit.cmake — the auditor's CLI tools/pide-audit (a bash script over psql, copied to
# build/tools/ and installed) and pide-log-append, the test helper that appends rows through the
# real exchange-log writer (tests/helpers/pide_log_append.c) for tests/integration/
# test_pide_audit.sh. Meant to be include()d once from tools/CMakeLists.txt; paths are absolute
# so it works from any directory.
include_guard(GLOBAL)

# COPYONLY keeps the source's permissions (executable) and re-copies when the script changes.
configure_file(${CMAKE_SOURCE_DIR}/tools/pide-audit ${CMAKE_BINARY_DIR}/tools/pide-audit COPYONLY)
install(PROGRAMS ${CMAKE_SOURCE_DIR}/tools/pide-audit DESTINATION ${CMAKE_INSTALL_BINDIR})

add_executable(pide-log-append ${CMAKE_SOURCE_DIR}/tests/helpers/pide_log_append.c)
target_include_directories(pide-log-append PRIVATE ${CMAKE_SOURCE_DIR}/gateway)
target_link_libraries(pide-log-append PRIVATE pidegw_core)
set_target_properties(pide-log-append PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests/helpers)

# pide-audit-verify: `pide-audit verify` recomputes the chain outside the database, with the
# writer's own row hash (gw_log_row_hash in gateway/exchange_log.c); next to the script, both in
# the build tree and installed.
add_executable(pide-audit-verify ${CMAKE_SOURCE_DIR}/tools/pide_audit_verify.c
                                 ${CMAKE_SOURCE_DIR}/tools/audit_db.c)
target_link_libraries(pide-audit-verify PRIVATE pidegw_core PostgreSQL::PostgreSQL
                                                PkgConfig::JANSSON)
target_include_directories(pide-audit-verify PRIVATE ${CMAKE_SOURCE_DIR}/gateway
                                                     ${CMAKE_SOURCE_DIR}/tools)
set_target_properties(pide-audit-verify PROPERTIES
  RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
install(TARGETS pide-audit-verify RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# pide-rest-verify: `pide-audit verify-rest` checks a REST answer's JWS offline
# (gateway/rest_sign.c, the gateway's own definition), next to the script.
add_executable(pide-rest-verify ${CMAKE_SOURCE_DIR}/tools/pide_rest_verify.c)
target_link_libraries(pide-rest-verify PRIVATE pidegw_core)
target_include_directories(pide-rest-verify PRIVATE ${CMAKE_SOURCE_DIR}/gateway)
set_target_properties(pide-rest-verify PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
install(TARGETS pide-rest-verify RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
