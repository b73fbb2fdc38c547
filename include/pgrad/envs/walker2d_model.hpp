#pragma once
// The MJCF text of the Walker2d model, embedded so no data file is needed at run time.
#include <sstream>
#include <string>

#include <pgrad/envs/planar_mjcf.hpp>

namespace pgrad::envs::detail {

/// MJCF of the planar Walker2d (Gymnasium's Walker2d-v4/v5 physics), composed here from the
/// published facts; every length is in metres and the walker stands in the x-z plane.
///
///   torso  capsule r 0.05, from z 1.45 to 1.05 (centre 1.25)   root: slide x, slide z (ref 1.25),
///   thigh  capsule r 0.05, from z 1.05 to 0.60 (hip 1.05)            hinge y at the torso centre
///   leg    capsule r 0.04, from z 0.60 to 0.10 (knee 0.60)
///   foot   capsule r 0.06, from x 0.0 to 0.2 at z 0.10 (ankle at x 0, z 0.10)
///   two legs (right, left) of identical geometry; density 1000 -> total mass 23.677 kg.
///   hip and knee range [-150, 0] deg, ankle [-45, 45] deg, axis -y; damping 0.1, armature 0.01
///   (root joints: none); geom friction 0.9, the feet `right_foot_friction` / `left_foot_friction`,
///   floor 0.7; body geoms collide with the floor only; motors gear 100, ctrl limited to [-1, 1];
///   timestep 0.002 s, RK4, default solver settings.
///
/// Body frames here sit at the joints (hip, knee, ankle); only the joint and geom placements
/// matter to the physics, and those are the published ones.
inline std::string walker2d_mjcf(double right_foot_friction, double left_foot_friction) {
  std::ostringstream xml;
  xml.precision(17);
  const auto leg = [&xml](const char* side, double foot_friction) {
    xml << "    <body name='thigh" << side << "' pos='0 0 -0.2'>\n"
        << "     <joint name='thigh" << side << "_joint' axis='0 -1 0' range='-150 0'/>\n"
        << "     <geom name='thigh" << side << "_geom' fromto='0 0 0 0 0 -0.45' size='0.05'/>\n"
        << "     <body name='leg" << side << "' pos='0 0 -0.45'>\n"
        << "      <joint name='leg" << side << "_joint' axis='0 -1 0' range='-150 0'/>\n"
        << "      <geom name='leg" << side << "_geom' fromto='0 0 0 0 0 -0.5' size='0.04'/>\n"
        << "      <body name='foot" << side << "' pos='0 0 -0.5'>\n"
        << "       <joint name='foot" << side << "_joint' axis='0 -1 0' range='-45 45'/>\n"
        << "       <geom name='foot" << side << "_geom' fromto='0 0 0 0.2 0 0' size='0.06' friction='"
        << foot_friction << " 0.1 0.1'/>\n"
        << "      </body>\n"
        << "     </body>\n"
        << "    </body>\n";
  };
  xml << "<mujoco model='pgrad_walker2d'>\n"
         " <compiler angle='degree' inertiafromgeom='true'/>\n"
         " <option timestep='0.002' integrator='RK4'/>\n"
         " <default>\n"
         "  <joint limited='true' damping='0.1' armature='0.01'/>\n"
         "  <geom type='capsule' density='1000' condim='3' contype='1' conaffinity='0'"
         " friction='0.9 0.1 0.1'/>\n"
         " </default>\n"
         " <worldbody>\n"
         "  <geom name='floor' type='plane' size='40 40 1' conaffinity='1' friction='0.7 0.1 0.1'/>\n"
         "  <body name='torso' pos='0 0 1.25'>\n";
  planar_root_joints(xml, 1.25, "   ");
  xml << "   <geom name='torso_geom' fromto='0 0 0.2 0 0 -0.2' size='0.05'/>\n";
  leg("", right_foot_friction);
  leg("_left", left_foot_friction);
  xml << "  </body>\n"
         " </worldbody>\n"
         " <actuator>\n";
  for (const char* joint : {"thigh_joint", "leg_joint", "foot_joint", "thigh_left_joint",
                            "leg_left_joint", "foot_left_joint"})
    xml << "  <motor joint='" << joint << "' gear='100' ctrllimited='true' ctrlrange='-1 1'/>\n";
  xml << " </actuator>\n"
         "</mujoco>\n";
  return xml.str();
}

}  // namespace pgrad::envs::detail
