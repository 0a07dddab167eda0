# Build time (issue 17). A clean build is what CI and scripts/setup do on a fresh clone,
# with no compiler cache, on 2 cores. Applied per target from the top level once every
# target exists, so that a new file or a new target gets the same treatment without
# editing anything here:
#   - precompiled headers: the standard library, fmt, spdlog and the Asio core are parsed
#     once per build instead of once per translation unit. One PCH for src/ (bench/ and
#     fuzz/ use it too), one with the same headers plus GoogleTest/GoogleMock for tests/;
#     every target reuses one of the two (REUSE_FROM), so each is compiled once. A header
#     in a PCH is one a translation unit may get without including it; the build without
#     (-DLVSD_PCH=OFF -DLVSD_UNITY_BUILD=OFF) keeps the sources honest about their includes.
#   - unity builds of the libraries under src/: their sources share most of the Asio and
#     coroutine template instances, which a unity batch compiles and optimises once
#     (lvsd_vrrp: 107 s of CPU as 15 translation units, 34 s as 2 batches);
#   - the test code's optimisation level (LVSD_TEST_CXX_FLAGS below).
#
# lvsd, lvsctl, the benchmarks and the libraries keep the build type's flags
# (RelWithDebInfo: -O2 -g, the packaged build; its debug info goes into the -dbgsym package).

option(LVSD_UNITY_BUILD "Unity build of the targets under src/" ON)
option(LVSD_PCH "Precompiled headers for the standard library, fmt, spdlog, Asio and GoogleTest" ON)

# Test code (the tests' own translation units, tests/support and tests/pair), when the build
# type is RelWithDebInfo: -O0 -g1 instead of -O2 -g. The code under test is the libraries,
# which keep -O2 -g; a test body is straight-line EXPECT calls that the optimiser spends
# most of a test's compile time on for nothing (load_test.cpp: 17.8 s at -O2 -g, 5.7 s at
# -O0 -g1). -g1 keeps function names and line tables, so a crash or a sanitizer report in a
# test still has a symbolised backtrace with file:line; what it drops (locals, types) is
# for a debugger, and debugging wants a Debug build (-O0 -g, which this leaves alone). The
# warnings that need the optimiser (-Wmaybe-uninitialized, -Warray-bounds, ...) still run
# on the product code; on test code they are the ones GCC 12 is known to get wrong (at -O1,
# reference_doc_test.cpp fails -Werror with a false -Warray-bounds inside std::string).
# Set to empty to compile the tests like the rest.
set(LVSD_TEST_CXX_FLAGS "-O0;-g1" CACHE STRING
    "Extra compile options for the test code (tests/) in RelWithDebInfo builds")

# Targets under src/ that are not unity-built: their sources give the same file-local
# name (in an anonymous namespace) to different things, which one translation unit cannot
# hold. lvsd_config: the keepalived_* files each have their own is_blank/skip_blanks.
# lvsd_host: view.cpp and vmac.cpp each have their own Link. A module can also opt out
# in its own CMakeLists.txt: set_target_properties(T PROPERTIES UNITY_BUILD OFF).
set(lvsd_no_unity lvsd_config lvsd_host)

# The headers nearly every translation unit of src/ reads; the test PCH adds GoogleTest.
set(lvsd_pch_headers
  <algorithm> <array> <chrono> <cstdint> <cstring> <functional> <map> <memory> <optional>
  <set> <span> <sstream> <string> <string_view> <utility> <variant> <vector>
  <fmt/format.h> <fmt/ranges.h> <spdlog/spdlog.h>
  <boost/asio/any_io_executor.hpp> <boost/asio/as_tuple.hpp> <boost/asio/awaitable.hpp>
  <boost/asio/co_spawn.hpp> <boost/asio/detached.hpp> <boost/asio/io_context.hpp>
  <boost/asio/ip/address.hpp> <boost/asio/posix/stream_descriptor.hpp>
  <boost/asio/steady_timer.hpp> <boost/asio/use_awaitable.hpp>)

# Every target defined under DIR and its subdirectories.
function(lvsd_targets_under dir out)
  get_property(targets DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
  get_property(subdirs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
  foreach(sub IN LISTS subdirs)
    lvsd_targets_under(${sub} more)
    list(APPEND targets ${more})
  endforeach()
  set(${out} ${targets} PARENT_SCOPE)
endfunction()

function(lvsd_apply_build_speed)
  lvsd_targets_under(${PROJECT_SOURCE_DIR} targets)
  set(tests_dir ${PROJECT_SOURCE_DIR}/tests)
  set(src_dir ${PROJECT_SOURCE_DIR}/src)

  if(LVSD_PCH)
    # The PCH owners: an empty translation unit each, with the usage requirements that
    # every consumer shares (the PCH is only valid where the macros it saw are the same).
    set(empty ${PROJECT_BINARY_DIR}/lvsd_pch_empty.cpp)
    file(CONFIGURE OUTPUT ${empty} CONTENT "// owner of the precompiled headers (cmake/BuildSpeed.cmake)\n")
    add_library(lvsd_pch_src OBJECT ${empty})
    target_link_libraries(lvsd_pch_src PRIVATE Boost::headers fmt::fmt spdlog::spdlog)
    target_precompile_headers(lvsd_pch_src PRIVATE ${lvsd_pch_headers})
    if(TARGET GTest::gtest)
      add_library(lvsd_pch_test OBJECT ${empty})
      target_link_libraries(lvsd_pch_test PRIVATE Boost::headers fmt::fmt spdlog::spdlog
                            GTest::gtest GTest::gmock)
      target_precompile_headers(lvsd_pch_test PRIVATE ${lvsd_pch_headers}
                                <gtest/gtest.h> <gmock/gmock.h>)
      lvsd_test_flags(lvsd_pch_test)  # a PCH is valid only with its consumers' -O and -g
    endif()
  endif()

  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    if(NOT type MATCHES "^(STATIC_LIBRARY|SHARED_LIBRARY|OBJECT_LIBRARY|EXECUTABLE)$")
      continue()
    endif()
    get_target_property(dir ${t} SOURCE_DIR)
    cmake_path(IS_PREFIX tests_dir "${dir}" NORMALIZE is_test)
    cmake_path(IS_PREFIX src_dir "${dir}" NORMALIZE is_src)
    if(is_test)
      lvsd_test_flags(${t})
      if(TARGET lvsd_pch_test)
        target_precompile_headers(${t} REUSE_FROM lvsd_pch_test)
      endif()
    else()
      if(TARGET lvsd_pch_src)
        target_precompile_headers(${t} REUSE_FROM lvsd_pch_src)
      endif()
      get_target_property(unity ${t} UNITY_BUILD)
      if(is_src AND LVSD_UNITY_BUILD AND NOT unity STREQUAL "OFF" AND NOT t IN_LIST lvsd_no_unity)
        set_target_properties(${t} PROPERTIES UNITY_BUILD ON)
        # GCC says a type from an anonymous namespace in a member of a type with linkage
        # only outside "the main file" (where it would be an ODR hazard in a header); in a
        # unity build every source is an included file, so it would say it of every .cpp.
        target_compile_options(${t} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
      endif()
    endif()
  endforeach()
endfunction()

function(lvsd_test_flags t)
  # After the build type's -O2 -g on the command line: the last -O and -g win.
  set(flags ${LVSD_TEST_CXX_FLAGS})
  list(TRANSFORM flags REPLACE "(.+)" "$<$<CONFIG:RelWithDebInfo>:\\1>")
  target_compile_options(${t} PRIVATE ${flags})
endfunction()
