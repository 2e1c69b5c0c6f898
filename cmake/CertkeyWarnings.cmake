# Warnings for every certkey target; third-party headers are included as SYSTEM.
function(certkey_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
    -Wno-sign-conversion -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Wnull-dereference)
endfunction()

# Firmware discipline for agent/: no exceptions, no RTTI. Heap use in the command path is
# checked at run time by tests/unit/agent/no_heap_test.cpp.
function(certkey_firmware target)
  certkey_warnings(${target})
  target_compile_options(${target} PRIVATE -fno-exceptions -fno-rtti)
endfunction()
