# Finds Debian's libmujoco-dev (headers in /usr/include/mujoco, libmujoco.so) without its
# CMake package, which would drag in qhull and OpenGL. Defines pgrad::mujoco when found.
# Walker2d and everything that uses it are built only when PGRAD_HAS_MUJOCO is ON.
find_path(PGRAD_MUJOCO_INCLUDE_DIR mujoco/mujoco.h)
find_library(PGRAD_MUJOCO_LIBRARY NAMES mujoco)
if(PGRAD_MUJOCO_INCLUDE_DIR AND PGRAD_MUJOCO_LIBRARY)
  set(PGRAD_HAS_MUJOCO ON)
  if(NOT TARGET pgrad::mujoco)
    add_library(pgrad_mujoco INTERFACE)
    add_library(pgrad::mujoco ALIAS pgrad_mujoco)
    target_include_directories(pgrad_mujoco INTERFACE ${PGRAD_MUJOCO_INCLUDE_DIR})
    target_link_libraries(pgrad_mujoco INTERFACE ${PGRAD_MUJOCO_LIBRARY})
  endif()
  message(STATUS "pgrad: MuJoCo found (${PGRAD_MUJOCO_LIBRARY}); Walker2d enabled")
else()
  set(PGRAD_HAS_MUJOCO OFF)
  message(STATUS "pgrad: MuJoCo not found; Walker2d disabled")
endif()
