#pragma once
// pgrad: header-only policy-gradient reinforcement learning on Eigen. Includes everything
// except the MuJoCo environments (include <pgrad/envs/walker2d.hpp> for those).
#include <pgrad/version.hpp>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/types.hpp>

#include <pgrad/nn/activation.hpp>
#include <pgrad/nn/clip_grad.hpp>
#include <pgrad/nn/dense.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/nn/parameters.hpp>

#include <pgrad/envs/env.hpp>
#include <pgrad/envs/spaces.hpp>
