# Finds MPI (Debian's libopenmpi-dev and openmpi-bin) and defines pgrad::mpi when it is found:
# pgrad::pgrad plus MPI, for programs that include <pgrad/distributed/mpi.hpp>. pgrad::pgrad
# itself never needs MPI. PGRAD_HAS_MPI says whether it was found.
find_package(MPI QUIET COMPONENTS CXX)
if(MPI_CXX_FOUND)
  set(PGRAD_HAS_MPI ON)
  if(NOT TARGET pgrad::mpi)
    add_library(pgrad_mpi INTERFACE)
    add_library(pgrad::mpi ALIAS pgrad_mpi)
    target_link_libraries(pgrad_mpi INTERFACE pgrad MPI::MPI_CXX)
  endif()
  message(STATUS "pgrad: MPI found (${MPIEXEC_EXECUTABLE}); pgrad::mpi enabled")
else()
  set(PGRAD_HAS_MPI OFF)
  message(STATUS "pgrad: MPI not found; pgrad::mpi disabled")
endif()
