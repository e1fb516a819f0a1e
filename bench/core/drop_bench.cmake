# Drops' benchmarks (bench/core/drop*_bench.cc).
add_executable(drop_bench bench/core/drop_bench.cc)
target_link_libraries(drop_bench PRIVATE stampede_core benchmark::benchmark)
