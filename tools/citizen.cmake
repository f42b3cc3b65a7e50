# citizen.cmake — `pide-audit citizen` (tools/pide_audit_citizen.c with the renderer
# tools/citizen_report.c) and `pide-audit export` / `verify-bundle` (tools/pide_audit_bundle.c):
# helpers next to the script, in the build tree and installed. Meant to be include()d once from
# tools/CMakeLists.txt; paths are absolute so it works from any directory.
include_guard(GLOBAL)

add_executable(pide-audit-citizen ${CMAKE_SOURCE_DIR}/tools/pide_audit_citizen.c
                                  ${CMAKE_SOURCE_DIR}/tools/citizen_report.c
                                  ${CMAKE_SOURCE_DIR}/tools/audit_db.c)
# --format pdf: the hand-written PDF writer (no library).
target_sources(pide-audit-citizen PRIVATE ${CMAKE_SOURCE_DIR}/tools/citizen_pdf.c
                                          ${CMAKE_SOURCE_DIR}/tools/pdf_text.c)
target_include_directories(pide-audit-citizen PRIVATE ${CMAKE_SOURCE_DIR}/gateway
                                                      ${CMAKE_SOURCE_DIR}/tools)
# lib/ only (peru_id, clock): not the daemon's library, whose gSOAP and TLS libraries would
# only add to its start-up time (it is timed: docs/benchmarks.md, "Citizen's report").
target_link_libraries(pide-audit-citizen PRIVATE pide_common PostgreSQL::PostgreSQL
                                                 PkgConfig::JANSSON PkgConfig::LIBXML2)
target_link_options(pide-audit-citizen PRIVATE -Wl,--as-needed)
set_target_properties(pide-audit-citizen PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
install(TARGETS pide-audit-citizen RUNTIME DESTINATION bin)

add_executable(pide-audit-bundle ${CMAKE_SOURCE_DIR}/tools/pide_audit_bundle.c
                                 ${CMAKE_SOURCE_DIR}/tools/bundle_row.c
                                 ${CMAKE_SOURCE_DIR}/tools/audit_db.c)
target_include_directories(pide-audit-bundle PRIVATE ${CMAKE_SOURCE_DIR}/gateway
                                                     ${CMAKE_SOURCE_DIR}/tools)
target_link_libraries(pide-audit-bundle PRIVATE pidegw_core PostgreSQL::PostgreSQL
                                                PkgConfig::JANSSON)
set_target_properties(pide-audit-bundle PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
install(TARGETS pide-audit-bundle RUNTIME DESTINATION bin)
# The bash half of export / verify-bundle, sourced by pide-audit from its own directory.
configure_file(${CMAKE_SOURCE_DIR}/tools/pide-audit-bundle.sh ${CMAKE_BINARY_DIR}/tools/pide-audit-bundle.sh COPYONLY)
install(FILES ${CMAKE_SOURCE_DIR}/tools/pide-audit-bundle.sh DESTINATION bin)

# pide-audit-archive: `pide-audit archive` / `verify-archive` (tools/pide_audit_archive.c with
# the streaming chain check tools/archive_chain.c; the bash half tools/pide-audit-archive.sh).
add_executable(pide-audit-archive ${CMAKE_SOURCE_DIR}/tools/pide_audit_archive.c
                                  ${CMAKE_SOURCE_DIR}/tools/archive_chain.c
                                  ${CMAKE_SOURCE_DIR}/tools/bundle_row.c
                                  ${CMAKE_SOURCE_DIR}/tools/audit_db.c)
target_include_directories(pide-audit-archive PRIVATE ${CMAKE_SOURCE_DIR}/gateway
                                                      ${CMAKE_SOURCE_DIR}/tools)
target_link_libraries(pide-audit-archive PRIVATE pidegw_core PostgreSQL::PostgreSQL
                                                 PkgConfig::JANSSON)
set_target_properties(pide-audit-archive PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
install(TARGETS pide-audit-archive RUNTIME DESTINATION bin)
configure_file(${CMAKE_SOURCE_DIR}/tools/pide-audit-archive.sh ${CMAKE_BINARY_DIR}/tools/pide-audit-archive.sh COPYONLY)
install(FILES ${CMAKE_SOURCE_DIR}/tools/pide-audit-archive.sh DESTINATION bin)
