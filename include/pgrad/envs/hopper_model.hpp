#pragma once
// The MJCF text of the Hopper model, embedded so no data file is needed at run time.
#include <sstream>
#include <string>

#include <pgrad/envs/planar_mjcf.hpp>

namespace pgrad::envs::detail {

/// MJCF of the planar one-legged Hopper (Gymnasium's Hopper-v4/v5 physics: hopper.xml and
/// hopper_v5.xml describe the same model), composed here from the published facts; lengths in
/// metres, the hopper stands in the x-z plane.
///
///   torso  capsule r 0.05, from z 1.45 to 1.05 (centre 1.25)   root: slide x, slide z (ref 1.25),
///   thigh  capsule r 0.05, from z 1.05 to 0.60 (hip 1.05)            hinge y at the torso centre
///   leg    capsule r 0.04, from z 0.60 to 0.10 (knee 0.60)
///   foot   capsule r 0.06, from x -0.13 to 0.26 at z 0.10 (ankle at x 0, z 0.10)
///   density 1000 (MuJoCo's default) -> total mass 15.820 kg.
///   hip and knee range [-150, 0] deg, ankle [-45, 45] deg, axis -y; damping 1, armature 1
///   (root joints: none); every geom condim 1 (the floor 3), margin 0.001, solimp (0.8, 0.8,
///   0.01), solref (0.02, 1), all pairs may collide; friction 0.9 (torso, thigh, leg), 2.0 (foot),
///   1 (floor); motors gear 200, ctrl limited to [-1, 1]; timestep 0.002 s, RK4.
///
/// Body frames here sit at the joints (hip, knee, ankle); only the joint and geom placements
/// matter to the physics, and those are the published ones.
inline std::string hopper_mjcf() {
  std::ostringstream xml;
  xml << "<mujoco model='pgrad_hopper'>\n"
         " <compiler angle='degree' inertiafromgeom='true'/>\n"
         " <option timestep='0.002' integrator='RK4'/>\n"
         " <default>\n"
         "  <joint limited='true' damping='1' armature='1'/>\n"
         "  <geom type='capsule' condim='1' contype='1' conaffinity='1' margin='0.001'"
         " solimp='0.8 0.8 0.01' solref='0.02 1'/>\n"
         " </default>\n"
         " <worldbody>\n"
         "  <geom name='floor' type='plane' size='20 20 0.125' condim='3'/>\n"
         "  <body name='torso' pos='0 0 1.25'>\n";
  planar_root_joints(xml, 1.25, "   ");
  xml << "   <geom name='torso_geom' fromto='0 0 0.2 0 0 -0.2' size='0.05' friction='0.9 0.005 0.0001'/>\n"
         "   <body name='thigh' pos='0 0 -0.2'>\n"
         "    <joint name='thigh_joint' axis='0 -1 0' range='-150 0'/>\n"
         "    <geom name='thigh_geom' fromto='0 0 0 0 0 -0.45' size='0.05' friction='0.9 0.005 0.0001'/>\n"
         "    <body name='leg' pos='0 0 -0.45'>\n"
         "     <joint name='leg_joint' axis='0 -1 0' range='-150 0'/>\n"
         "     <geom name='leg_geom' fromto='0 0 0 0 0 -0.5' size='0.04' friction='0.9 0.005 0.0001'/>\n"
         "     <body name='foot' pos='0 0 -0.5'>\n"
         "      <joint name='foot_joint' axis='0 -1 0' range='-45 45'/>\n"
         "      <geom name='foot_geom' fromto='-0.13 0 0 0.26 0 0' size='0.06' friction='2 0.005 0.0001'/>\n"
         "     </body>\n"
         "    </body>\n"
         "   </body>\n"
         "  </body>\n"
         " </worldbody>\n"
         " <actuator>\n"
         "  <motor joint='thigh_joint' gear='200' ctrllimited='true' ctrlrange='-1 1'/>\n"
         "  <motor joint='leg_joint' gear='200' ctrllimited='true' ctrlrange='-1 1'/>\n"
         "  <motor joint='foot_joint' gear='200' ctrllimited='true' ctrlrange='-1 1'/>\n"
         " </actuator>\n"
         "</mujoco>\n";
  return xml.str();
}

}  // namespace pgrad::envs::detail
