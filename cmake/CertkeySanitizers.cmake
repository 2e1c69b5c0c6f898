# vptr checking needs RTTI, which the firmware is built without (CertkeyWarnings.cmake).
if(CERTKEY_SANITIZE)
  add_compile_options(-fsanitize=address -fno-omit-frame-pointer
                      -fsanitize=undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address -fsanitize=undefined)
endif()
# ThreadSanitizer: its own build (scripts/test), for the module's and the daemon's threads.
# -Wno-tsan: GCC warns that it cannot instrument atomic_thread_fence, which Boost.Asio's
# headers use; the thread job's tests are what show whether that matters.
if(CERTKEY_SANITIZE_THREAD)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer -Wno-tsan)
  add_link_options(-fsanitize=thread)
endif()
if(CERTKEY_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CERTKEY_FUZZ needs clang (libFuzzer)")
  endif()
  # Instrument everything for coverage; the fuzz targets add -fsanitize=fuzzer at link time.
  add_compile_options(-fsanitize=fuzzer-no-link,address -fno-omit-frame-pointer
                      -fsanitize=undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address -fsanitize=undefined)
endif()
