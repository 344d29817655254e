# Runs the C example (examples/minimal) on a model and checks that it prints a non-empty reply.
# cmake -DBIN=acorn-minimal -DMODEL=model.acorn -P run_minimal.cmake
execute_process(COMMAND ${BIN} ${MODEL} "Hello! Who are you?" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err
                TIMEOUT 300)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "acorn-minimal failed (${rc}): ${err}")
endif()
string(STRIP "${out}" reply)
if(reply STREQUAL "")
  message(FATAL_ERROR "acorn-minimal printed no reply; stderr: ${err}")
endif()
message(STATUS "reply: ${reply}")
