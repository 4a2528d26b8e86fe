# Tests of policy/ (libmodq_policy and modq-policy). Sources are named from this file's folder so
# that the file also works when included from another tree.
set(_pt ${CMAKE_CURRENT_LIST_DIR})
modq_add_test(test_policy_load SOURCES ${_pt}/test_policy_load.c LIBS modq_policy)
modq_add_test(test_policy_check SOURCES ${_pt}/test_policy_check.c LIBS modq_policy)
modq_add_test(test_policy_check_shift SOURCES ${_pt}/test_policy_check_shift.c LIBS modq_policy)
modq_add_test(test_policy_ledger SOURCES ${_pt}/test_policy_ledger.c LIBS modq_policy)
modq_add_test(test_policy_ledger_proto SOURCES ${_pt}/test_policy_ledger_proto.c
              LIBS modq_policy modq_proto)
modq_add_test(test_policy_ledger_random SOURCES ${_pt}/test_policy_ledger_random.c
              LIBS modq_policy modq_proto)
modq_add_test(test_policy_check_random SOURCES ${_pt}/test_policy_check_random.c LIBS modq_policy
              TIMEOUT 600)
modq_add_script_test(test_policy_cli COMMAND bash ${_pt}/test_policy_cli.sh
                     $<TARGET_FILE:modq-policy>)
