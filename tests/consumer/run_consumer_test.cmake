# Configures, builds and runs tests/consumer in MODE=install or MODE=subdirectory.
cmake_minimum_required(VERSION 3.16)

function(run)
  execute_process(COMMAND ${ARGV} RESULT_VARIABLE result OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT result EQUAL 0)
    message(FATAL_ERROR "command failed (${result}): ${ARGV}\n${out}\n${err}")
  endif()
  message(STATUS "${out}")
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(consumer_source ${PGRAD_SOURCE_DIR}/tests/consumer)
if(MODE STREQUAL "install")
  set(prefix ${WORK_DIR}/prefix)
  run(${CMAKE_COMMAND} --install ${PGRAD_BINARY_DIR} --prefix ${prefix})
  run(${CMAKE_COMMAND} -S ${consumer_source} -B ${WORK_DIR}/build -G ${CMAKE_GENERATOR}
      -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release)
elseif(MODE STREQUAL "subdirectory")
  run(${CMAKE_COMMAND} -S ${consumer_source} -B ${WORK_DIR}/build -G ${CMAKE_GENERATOR}
      -DPGRAD_SUBDIRECTORY=${PGRAD_SOURCE_DIR} -DCMAKE_BUILD_TYPE=Release)
else()
  message(FATAL_ERROR "unknown MODE '${MODE}'")
endif()
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
