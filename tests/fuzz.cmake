# Every harness of tests/fuzz replayed over its committed corpus (seeds and reproducers) with the
# suite's own compiler and sanitizers: a crash found once by fuzzing stays a regression test.
include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz/harnesses.cmake)

foreach(h ${MODQ_FUZZ_HARNESSES})
  add_executable(replay_${h} fuzz/fuzz_${h}.c fuzz/replay.c)
  target_link_libraries(replay_${h} PRIVATE ${MODQ_FUZZ_LIBS_${h}})
  set_target_properties(replay_${h} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  modq_fuzz_harness_setup(replay_${h})
  add_test(NAME test_fuzz_replay_${h}
           COMMAND replay_${h} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${h})
  modq_test_properties(test_fuzz_replay_${h} 120 "fuzz")
endforeach()
