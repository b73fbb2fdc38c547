#pragma once
// MJCF pieces that the planar MuJoCo models (Walker2d, Hopper, HalfCheetah) share.
#include <sstream>

namespace pgrad::envs::detail {

/// Writes the three root joints of a planar model into `xml`: rootx (slide along x), rootz
/// (slide along z, reference height `height` so that qpos0[1] = height) and rooty (hinge about
/// y at the torso body's origin), all unlimited, with no damping, armature or stiffness. A slide
/// joint's position does not enter the dynamics, so none is given.
inline void planar_root_joints(std::ostringstream& xml, double height, const char* indent) {
  xml << indent << "<joint name='rootx' type='slide' axis='1 0 0' limited='false' damping='0' armature='0'"
      << " stiffness='0'/>\n"
      << indent << "<joint name='rootz' type='slide' axis='0 0 1' ref='" << height
      << "' limited='false' damping='0' armature='0' stiffness='0'/>\n"
      << indent << "<joint name='rooty' type='hinge' axis='0 1 0' limited='false' damping='0' armature='0'"
      << " stiffness='0'/>\n";
}

}  // namespace pgrad::envs::detail
