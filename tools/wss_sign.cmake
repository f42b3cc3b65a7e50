# wss_sign.cmake — pide-wss-sign, the WS-Security request signer for consumers and tests
# (docs/wss.md). Meant to be include()d once from tools/CMakeLists.txt; paths are absolute so it
# works from any directory. The program lands in build/tools/.
include_guard(GLOBAL)

add_executable(pide-wss-sign ${CMAKE_SOURCE_DIR}/tools/pide-wss-sign.c)
target_link_libraries(pide-wss-sign PRIVATE pidegw_core)
set_target_properties(pide-wss-sign PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
install(TARGETS pide-wss-sign RUNTIME DESTINATION bin)
