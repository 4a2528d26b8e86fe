# Tests of worker/. Registered as their sources appear (issue 4 is being built module by module).
foreach(t offsets config log mock banks fetch decided)
  if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_worker_${t}.c)
    modq_add_test(test_worker_${t} SOURCES test_worker_${t}.c LIBS modq_worker_core)
  endif()
endforeach()
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/worker.extra.cmake)
  include(${CMAKE_CURRENT_SOURCE_DIR}/worker.extra.cmake)
endif()
