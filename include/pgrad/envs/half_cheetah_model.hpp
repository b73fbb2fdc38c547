#pragma once
// The MJCF text of the HalfCheetah model, embedded so no data file is needed at run time.
#include <sstream>
#include <string>

#include <pgrad/envs/planar_mjcf.hpp>

namespace pgrad::envs::detail {

/// One segment of a HalfCheetah leg: its body's offset from the parent body, its hinge (about +y
/// at the body origin) and capsule (centre offset, tilt about y, half length), and its motor.
struct HalfCheetahLimb {
  const char* name;
  double body_x, body_z;
  double range_low, range_high;  // radians
  double stiffness, damping;
  double geom_x, geom_z, geom_angle, half_length;
  double gear;
};

/// The six limbs of Gymnasium's half_cheetah.xml (back leg then front leg, each thigh, shin,
/// foot; the order of the actions), the published values.
inline constexpr HalfCheetahLimb half_cheetah_limbs[6] = {
    {"bthigh", -0.5, 0.0, -0.52, 1.05, 240, 6.0, 0.1, -0.13, -3.8, 0.145, 120},
    {"bshin", 0.16, -0.25, -0.785, 0.785, 180, 4.5, -0.14, -0.07, -2.03, 0.15, 90},
    {"bfoot", -0.28, -0.14, -0.4, 0.785, 120, 3.0, 0.03, -0.097, -0.27, 0.094, 60},
    {"fthigh", 0.5, 0.0, -1.0, 0.7, 180, 4.5, -0.07, -0.12, 0.52, 0.133, 120},
    {"fshin", -0.14, -0.24, -1.2, 0.87, 120, 3.0, 0.065, -0.09, -0.6, 0.106, 60},
    {"ffoot", 0.13, -0.18, -0.5, 0.5, 60, 1.5, 0.045, -0.07, -0.6, 0.07, 30},
};

/// MJCF of the planar HalfCheetah (Gymnasium's HalfCheetah-v4/v5 physics, half_cheetah.xml),
/// composed here from the published facts; lengths in metres, angles in radians, x-z plane.
///
///   torso  capsule r 0.046 from x -0.5 to 0.5 at height 0.7 (the body origin), with a head
///          capsule r 0.046, half length 0.15, centre (0.6, 0.1), tilted 0.87 rad about y;
///          root: slide x, slide z, hinge y at the torso origin (qpos0 = 0).
///   legs   back and front, thigh -> shin -> foot (half_cheetah_limbs): capsules r 0.046;
///          joints limited, armature 0.1, each its own stiffness (spring to 0) and damping;
///          joint limits soft: solimplimit (0, 0.8, 0.03), solreflimit (0.02, 1).
///   mass   settotalmass 14 kg, spread over the bodies in proportion to their capsule volumes.
///   contact  condim 3, friction (0.4, 0.1, 0.1), solimp (0, 0.8, 0.01), solref (0.02, 1);
///          body geoms collide with the floor only.
///   motors gear 120, 90, 60 (back), 120, 60, 30 (front), ctrl limited to [-1, 1].
///   timestep 0.01 s, Euler (MuJoCo's default), gravity -9.81.
inline std::string half_cheetah_mjcf() {
  std::ostringstream xml;
  xml.precision(17);
  xml << "<mujoco model='pgrad_half_cheetah'>\n"
         " <compiler angle='radian' inertiafromgeom='true' settotalmass='14'/>\n"
         " <option timestep='0.01' gravity='0 0 -9.81'/>\n"
         " <default>\n"
         "  <joint limited='true' armature='0.1' damping='0.01' stiffness='8'"
         " solimplimit='0 0.8 0.03' solreflimit='0.02 1'/>\n"
         "  <geom type='capsule' contype='1' conaffinity='0' condim='3' friction='0.4 0.1 0.1'"
         " solimp='0 0.8 0.01' solref='0.02 1'/>\n"
         " </default>\n"
         " <worldbody>\n"
         "  <geom name='floor' type='plane' size='40 40 40' conaffinity='1'/>\n"
         "  <body name='torso' pos='0 0 0.7'>\n";
  planar_root_joints(xml, 0.0, "   ");  // qpos0[1] = 0: the height is relative to 0.7
  xml << "   <geom name='torso' fromto='-0.5 0 0 0.5 0 0' size='0.046'/>\n"
         "   <geom name='head' pos='0.6 0 0.1' axisangle='0 1 0 0.87' size='0.046 0.15'/>\n";
  for (int leg = 0; leg < 2; ++leg) {
    for (int k = 0; k < 3; ++k) {
      const HalfCheetahLimb& limb = half_cheetah_limbs[3 * leg + k];
      const std::string indent(static_cast<std::size_t>(3 + k), ' ');
      xml << indent << "<body name='" << limb.name << "' pos='" << limb.body_x << " 0 " << limb.body_z << "'>\n"
          << indent << " <joint name='" << limb.name << "' type='hinge' axis='0 1 0' range='" << limb.range_low << ' '
          << limb.range_high << "' stiffness='" << limb.stiffness << "' damping='" << limb.damping << "'/>\n"
          << indent << " <geom name='" << limb.name << "' pos='" << limb.geom_x << " 0 " << limb.geom_z
          << "' axisangle='0 1 0 " << limb.geom_angle << "' size='0.046 " << limb.half_length << "'/>\n";
    }
    for (int k = 2; k >= 0; --k) xml << std::string(static_cast<std::size_t>(3 + k), ' ') << "</body>\n";
  }
  xml << "  </body>\n"
         " </worldbody>\n"
         " <actuator>\n";
  for (const HalfCheetahLimb& limb : half_cheetah_limbs)
    xml << "  <motor name='" << limb.name << "' joint='" << limb.name << "' gear='" << limb.gear
        << "' ctrllimited='true' ctrlrange='-1 1'/>\n";
  xml << " </actuator>\n"
         "</mujoco>\n";
  return xml.str();
}

}  // namespace pgrad::envs::detail
