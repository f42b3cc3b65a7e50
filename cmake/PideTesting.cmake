# PideTesting.cmake — how every test is registered, so each folder adds its tests the same way.
#
# Fixtures started once per ctest run (tests/CMakeLists.txt):
#   postgres — a throwaway PostgreSQL cluster (scripts/pg-local) under build/test-run/pg
#   pki      — demo CA, gateway and member keys (scripts/pki) under build/test-run/pki
# Tests find them through the environment:
#   PIDE_TEST_PG_CONNINFO_FILE  file holding the conninfo of the gateway role
#   PIDE_TEST_PG_DIR            the cluster's directory (pg-local --dir)
#   PIDE_TEST_PKI_DIR           the PKI directory
#   PIDE_SOURCE_DIR, PIDE_BUILD_DIR

set(PIDE_TEST_RUN_DIR ${CMAKE_BINARY_DIR}/test-run)
set(PIDE_TEST_ENV
  "PIDE_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
  "PIDE_BUILD_DIR=${CMAKE_BINARY_DIR}"
  "PIDE_TEST_PG_DIR=${PIDE_TEST_RUN_DIR}/pg"
  "PIDE_TEST_PG_CONNINFO_FILE=${PIDE_TEST_RUN_DIR}/pg/conninfo"
  "PIDE_TEST_PKI_DIR=${PIDE_TEST_RUN_DIR}/pki"
  "CK_DEFAULT_TIMEOUT=60")

# pide_add_check_test(NAME <name> SOURCES <files...> [LIBS <targets...>] [FIXTURES <f...>])
# A Check unit test binary run by ctest. tests/lib (check_run.h: the suite runner every test's
# main() uses) is on its include path.
function(pide_add_check_test)
  cmake_parse_arguments(T "" "NAME" "SOURCES;LIBS;FIXTURES" ${ARGN})
  add_executable(${T_NAME} ${T_SOURCES})
  target_include_directories(${T_NAME} PRIVATE ${CMAKE_SOURCE_DIR}/tests/lib)
  target_link_libraries(${T_NAME} PRIVATE ${T_LIBS} PkgConfig::CHECK)
  add_test(NAME ${T_NAME} COMMAND ${T_NAME})
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${PIDE_TEST_ENV}" TIMEOUT 300)
  if(T_FIXTURES)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
endfunction()

# pide_add_script_test(NAME <name> SCRIPT <file> [FIXTURES <f...>])
# An integration test: a bash script that exits non-zero on failure.
function(pide_add_script_test)
  cmake_parse_arguments(T "" "NAME;SCRIPT" "FIXTURES" ${ARGN})
  add_test(NAME ${T_NAME} COMMAND bash ${T_SCRIPT})
  set_tests_properties(${T_NAME} PROPERTIES ENVIRONMENT "${PIDE_TEST_ENV}" TIMEOUT 600)
  if(T_FIXTURES)
    set_tests_properties(${T_NAME} PROPERTIES FIXTURES_REQUIRED "${T_FIXTURES}")
  endif()
endfunction()

# Fixture needs declared inside a test source: a line containing
#   ctest-fixtures: postgres pki
function(pide_fixtures_of FILE OUT)
  file(STRINGS ${FILE} lines REGEX "ctest-fixtures:")
  set(result "")
  foreach(l ${lines})
    string(REGEX REPLACE ".*ctest-fixtures:[ ]*" "" l "${l}")
    string(REGEX REPLACE "[ ]*\\*/.*" "" l "${l}")
    string(REPLACE " " ";" l "${l}")
    list(APPEND result ${l})
  endforeach()
  set(${OUT} "${result}" PARENT_SCOPE)
endfunction()
