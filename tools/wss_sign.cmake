# wss_sign.cmake — pide-wss-sign, the WS-Security request signer for consumers and tests
# (docs/wss.md). Meant to be include()d once from tools/CMakeLists.txt; paths are absolute so it
# works from any directory. The program lands in build/tools/.
include_guard(GLOBAL)

add_executable(pide-wss-sign ${CMAKE_SOURCE_DIR}/tools/pide-wss-sign.c)
# gateway/wss.c builds the WS-Security header; lib/ gives the signer.
target_include_directories(pide-wss-sign PRIVATE ${CMAKE_SOURCE_DIR}/gateway)
target_link_libraries(pide-wss-sign PRIVATE pidegw_core pide_common)
set_target_properties(pide-wss-sign PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tools)
install(TARGETS pide-wss-sign RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
