# bench/: the load generators' own parts, tested on their own (api_conn.c against a canned server).
modq_add_test(test_bench_api_conn SOURCES test_bench_api_conn.c ${CMAKE_SOURCE_DIR}/bench/api_conn.c
  TIMEOUT 120 LABELS bench)
target_include_directories(test_bench_api_conn PRIVATE ${CMAKE_SOURCE_DIR}/bench)
