# Checks of the Helm chart (helm/modq), run without Helm (it cannot be installed here):
# the values schema, .Values paths against values.yaml, yamllint and value documentation, and
# the rendered worker config against modq-worker --check-config. /usr/bin/python3 explicitly:
# python3-jsonschema and yamllint are Debian packages (scripts/install-deps), not pip ones.
set(MODQ_HELM_CHART ${CMAKE_SOURCE_DIR}/helm/modq)

modq_add_script_test(test_helm_values
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_helm_values.py ${MODQ_HELM_CHART}
  TIMEOUT 60 LABELS helm)
modq_add_script_test(test_helm_paths
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_helm_paths.py ${MODQ_HELM_CHART}
  TIMEOUT 60 LABELS helm)
modq_add_script_test(test_helm_lint
  COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_helm_lint.py ${CMAKE_SOURCE_DIR}/helm
  TIMEOUT 60 LABELS helm)
if(TARGET modq-worker)
  modq_add_script_test(test_helm_config
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/test_helm_config.py ${MODQ_HELM_CHART}
            $<TARGET_FILE:modq-worker> ${CMAKE_SOURCE_DIR}
    TIMEOUT 120 LABELS helm)
endif()
