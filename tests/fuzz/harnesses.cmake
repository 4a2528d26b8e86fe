# The harnesses of tests/fuzz and the libraries each one drives, shared by the libFuzzer build
# (tests/fuzz/CMakeLists.txt, MODQ_FUZZ=ON) and the test suite's replay of the corpora
# (tests/fuzz.cmake). Harness h is fuzz_h.c with its seed corpus in corpus/h/.
set(MODQ_FUZZ_HARNESSES media ticket offsets jwt policy ledger config http review)
set(MODQ_FUZZ_LIBS_media modq_blur)
set(MODQ_FUZZ_LIBS_ticket modq_worker_core)
set(MODQ_FUZZ_LIBS_offsets modq_worker_core)
set(MODQ_FUZZ_LIBS_jwt modq_worker_core)
set(MODQ_FUZZ_LIBS_policy modq_policy)
set(MODQ_FUZZ_LIBS_ledger modq_policy)
set(MODQ_FUZZ_LIBS_config modq_worker_core modq_common)
set(MODQ_FUZZ_LIBS_http modq_worker_core modq_common)
set(MODQ_FUZZ_LIBS_review modq_worker_core)
# The longest input scripts/fuzz lets libFuzzer make (-max_len), per harness: room for an image
# or a ticket carrying one, for a whole policy or configuration, for a few requests, for a review
# record with its small renditions.
set(MODQ_FUZZ_MAX_LEN_media 32768)
set(MODQ_FUZZ_MAX_LEN_ticket 32768)
set(MODQ_FUZZ_MAX_LEN_offsets 4096)
set(MODQ_FUZZ_MAX_LEN_jwt 4096)
set(MODQ_FUZZ_MAX_LEN_policy 8192)
set(MODQ_FUZZ_MAX_LEN_ledger 4096)
set(MODQ_FUZZ_MAX_LEN_config 8192)
set(MODQ_FUZZ_MAX_LEN_http 8192)
set(MODQ_FUZZ_MAX_LEN_review 65536)

# Compile settings every harness gets, whichever way it is built.
function(modq_fuzz_harness_setup target)
  target_compile_definitions(${target} PRIVATE MODQ_SOURCE_DIR="${CMAKE_SOURCE_DIR}")
  target_include_directories(${target} PRIVATE ${CMAKE_SOURCE_DIR}/tests/fuzz)
  modq_warnings(${target})
endfunction()
