# Drops' unit tests (core/drop*), on a fake clock: one file a concept, as in tests/core.
include(GoogleTest)
add_executable(drop_tests
  tests/core/drop_admission_test.cc
  tests/core/drop_claims_test.cc
  tests/core/crypto_test.cc
  tests/core/drop_definition_test.cc
  tests/core/drop_draw_test.cc
  tests/core/drop_gate_test.cc
  tests/core/drop_identity_test.cc
  tests/core/drop_line_test.cc
  tests/core/drop_queue_test.cc
  tests/core/drop_waitlist_test.cc
)
target_include_directories(drop_tests PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(drop_tests PRIVATE stampede_core GTest::gtest_main)
gtest_discover_tests(drop_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 ENVIRONMENT "${STAMPEDE_TEST_ENVIRONMENT}")

# The black-box drops suite (tests/server/drops_test.py), held to API.md's "Drops" section
# against a real `stampede serve` it starts and stops itself (its own file: server.drops).
add_test(NAME server.drops
         COMMAND /usr/bin/python3 -W ignore ${PROJECT_SOURCE_DIR}/tests/server/drops_test.py
                 $<TARGET_FILE:stampede>)
set_tests_properties(server.drops PROPERTIES TIMEOUT 600 ENVIRONMENT "${STAMPEDE_TEST_ENVIRONMENT}")
