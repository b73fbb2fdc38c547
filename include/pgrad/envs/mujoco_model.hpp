#pragma once
// Compiling MJCF text held in memory into a MuJoCo model, and owning MuJoCo's model and data.
// Needs MuJoCo: link pgrad::mujoco (built only when CMake finds it, PGRAD_HAS_MUJOCO).
#include <cstring>
#include <memory>
#include <string>

#include <mujoco/mujoco.h>

#include <pgrad/core/error.hpp>

namespace pgrad::envs::detail {

/// Frees an mjModel (for shared_ptr / unique_ptr).
struct MjModelDeleter {
  void operator()(const mjModel* model) const { mj_deleteModel(const_cast<mjModel*>(model)); }
};
/// Frees an mjData (for unique_ptr).
struct MjDataDeleter {
  void operator()(mjData* data) const { mj_deleteData(data); }
};
/// One simulation state, owned.
using MjDataPtr = std::unique_ptr<mjData, MjDataDeleter>;

/// Compiles MJCF text held in memory (through MuJoCo's virtual file system, no file on disk).
/// Throws pgrad::Error carrying MuJoCo's message when the text does not compile; `what` names
/// the model in that message.
inline std::shared_ptr<const mjModel> load_mjcf(const std::string& xml, const char* what) {
  struct VfsGuard {  // mjVFS is ~2 MB: on the heap, and its file buffers freed on every path
    std::unique_ptr<mjVFS> vfs = std::make_unique<mjVFS>();
    VfsGuard() { mj_defaultVFS(vfs.get()); }
    ~VfsGuard() { mj_deleteVFS(vfs.get()); }
  } guard;
  const char* name = "pgrad_model.xml";
  const int size = static_cast<int>(xml.size()) + 1;  // with the terminating '\0'
  PGRAD_REQUIRE(mj_makeEmptyFileVFS(guard.vfs.get(), name, size) == 0, what,
                ": MuJoCo could not make a virtual file of ", size, " bytes");
  const int file = mj_findFileVFS(guard.vfs.get(), name);
  PGRAD_REQUIRE(file >= 0, what, ": MuJoCo virtual file not found after creating it");
  std::memcpy(guard.vfs->filedata[file], xml.c_str(), static_cast<std::size_t>(size));
  char message[1000] = "";
  mjModel* model = mj_loadXML(name, guard.vfs.get(), message, sizeof message);
  PGRAD_REQUIRE(model != nullptr, what, ": MuJoCo could not load the model: ", message);
  return std::shared_ptr<const mjModel>(model, MjModelDeleter{});
}

}  // namespace pgrad::envs::detail
