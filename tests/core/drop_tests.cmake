# Drops' unit tests (core/drop*), on a fake clock: one file a concept, as in tests/core.
include(GoogleTest)
add_executable(drop_tests
  tests/core/drop_admission_test.cc
  tests/core/drop_claims_test.cc
  tests/core/drop_crypto_test.cc
  tests/core/drop_definition_test.cc
  tests/core/drop_draw_test.cc
  tests/core/drop_identity_test.cc
  tests/core/drop_line_test.cc
  tests/core/drop_queue_test.cc
  tests/core/drop_waitlist_test.cc
)
target_include_directories(drop_tests PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(drop_tests PRIVATE stampede_core GTest::gtest_main)
gtest_discover_tests(drop_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 300 ENVIRONMENT "${STAMPEDE_TEST_ENVIRONMENT}")
