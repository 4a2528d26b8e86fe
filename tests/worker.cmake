# Tests of worker/: one cmocka test per module, and the interoperability test with clients we
# did not write (kcat, Python kafka) against modq-devbroker.
set(MODQ_WORKER_TESTS
  api
  api_auth
  api_ids
  api_people
  banks
  config
  config_secrets
  consume
  consume_commit
  decided
  desk
  desk_handover
  desk_policy
  desk_review
  desk_threads
  fetch
  follow
  http
  http_static
  http_slow
  jwt
  log
  metrics
  mock
  offsets
  offsets_random
  pool
  prepare
  prepare_fields
  publish
  publish_failures
  run
  run_dead
  run_pause
  run_sandbox)
foreach(t ${MODQ_WORKER_TESTS})
  modq_add_test(test_worker_${t} SOURCES test_worker_${t}.c LIBS modq_worker_core)
endforeach()
# The sandbox tests make helpers crash and hang: the tests' build of the helper.
add_dependencies(test_worker_run_sandbox modq-media-sandbox-test)
# Consumer-group tests wait for rebalances and assert that paused partitions stay quiet: run them
# alone so that a loaded machine cannot stretch those waits (one run failed once under load).
set_tests_properties(test_worker_consume test_worker_consume_commit PROPERTIES RUN_SERIAL TRUE)

modq_add_script_test(test_worker_interop
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_worker_interop.sh $<TARGET_FILE:modq-devbroker>
  TIMEOUT 180)

# The demo as a new user meets it, and SIGTERM with reviews in flight (docs/operations.md).
modq_add_script_test(test_worker_demo
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_worker_demo.sh $<TARGET_FILE:modq-worker>
  TIMEOUT 240)
modq_add_script_test(test_worker_drain
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_worker_drain.sh $<TARGET_FILE:modq-worker>
          $<TARGET_FILE:modq-devbroker> $<TARGET_FILE:modq-media>
  TIMEOUT 300)
set_tests_properties(test_worker_demo test_worker_drain PROPERTIES RUN_SERIAL TRUE)

# A bounded slowloris over loopback against the demo (issue 12): the probes keep answering on
# their own listener, one address is held to its share, and the request deadline closes the
# trickling connections. About 15 s; at most 120 connections, only to 127.0.0.1.
modq_add_script_test(test_worker_slowloris
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_worker_slowloris.py
          $<TARGET_FILE:modq-worker> ${CMAKE_SOURCE_DIR}
  TIMEOUT 120)
# Its timings (a probe within 1 s, a close within 1.5 s of the deadline) are not a loaded
# machine's to stretch.
set_tests_properties(test_worker_slowloris PROPERTIES RUN_SERIAL TRUE)

# The review page in a real browser (Debian chromium, playwright-core from npm) against the demo
# with a short-limit policy; screenshots land in BUILD/web-artifacts.
modq_add_script_test(test_worker_web
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_worker_web.sh ${CMAKE_BINARY_DIR}
  TIMEOUT 420)
set_tests_properties(test_worker_web PROPERTIES RUN_SERIAL TRUE)

# End-to-end and fault tests of modq-worker with clients we did not write (Python kafka, kcat)
# against modq-devbroker: outcomes (e2e), kill -9 restarts (e2e_kill, MODQ_TEST_SEED replays),
# broker down/up, injected errors and a rebalance (e2e_faults). They load both cores: serial.
foreach(t e2e e2e_kill e2e_faults)
  modq_add_script_test(test_worker_${t}
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/test_worker_${t}.sh $<TARGET_FILE:modq-devbroker>
            $<TARGET_FILE:modq-worker> $<TARGET_FILE:modq-media>
    TIMEOUT 300)
endforeach()
set_tests_properties(test_worker_e2e PROPERTIES TIMEOUT 180)
set_tests_properties(test_worker_e2e test_worker_e2e_kill test_worker_e2e_faults
                     PROPERTIES RUN_SERIAL TRUE)
