# The README's promises that a test can keep: it shows examples/quickstart.cpp exactly as that
# file stands (the file is compiled with the examples), and it stays a guide (under 30,000
# characters). Run by ctest as readme.check:
#   cmake -DREADME=README.md -DPROGRAM=examples/quickstart.cpp -P tests/readme_check.cmake
file(READ "${README}" readme)
file(READ "${PROGRAM}" program)
string(FIND "${readme}" "${program}" position)
if(position EQUAL -1)
  message(FATAL_ERROR "README.md does not show ${PROGRAM} as it stands: copy the file into its code block")
endif()
string(LENGTH "${readme}" length)
if(length GREATER_EQUAL 30000)
  message(FATAL_ERROR "README.md has ${length} characters: keep it a guide, under 30000")
endif()
message(STATUS "README.md shows ${PROGRAM} and has ${length} characters")
