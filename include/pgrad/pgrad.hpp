#pragma once
// pgrad: header-only policy-gradient reinforcement learning on Eigen. Includes everything
// except the MuJoCo environments (include <pgrad/envs/walker2d.hpp>, hopper.hpp or
// half_cheetah.hpp and link pgrad::mujoco).
#include <pgrad/version.hpp>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/file_io.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/running_mean_std.hpp>
#include <pgrad/core/schedule.hpp>
#include <pgrad/core/serialize.hpp>
#include <pgrad/core/special_functions.hpp>
#include <pgrad/core/streams.hpp>
#include <pgrad/core/thread_pool.hpp>
#include <pgrad/core/types.hpp>

#include <pgrad/nn/activation.hpp>
#include <pgrad/nn/clip_grad.hpp>
#include <pgrad/nn/dense.hpp>
#include <pgrad/nn/gru.hpp>
#include <pgrad/nn/init.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/nn/optimizer.hpp>
#include <pgrad/nn/parameters.hpp>

#include <pgrad/distributions/beta.hpp>
#include <pgrad/distributions/categorical.hpp>
#include <pgrad/distributions/diag_gaussian.hpp>
#include <pgrad/distributions/multi_categorical.hpp>
#include <pgrad/distributions/squashed_gaussian.hpp>

#include <pgrad/returns/gae.hpp>
#include <pgrad/returns/normalize.hpp>

#include <pgrad/envs/cartpole.hpp>
#include <pgrad/envs/check_env.hpp>
#include <pgrad/envs/env.hpp>
#include <pgrad/envs/pendulum.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/transforms.hpp>
#include <pgrad/envs/vector_env.hpp>
#include <pgrad/envs/wrapper.hpp>
#include <pgrad/envs/wrappers/clip_action.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/normalize_reward.hpp>
#include <pgrad/envs/wrappers/record_episode_statistics.hpp>
#include <pgrad/envs/wrappers/rescale_action.hpp>
#include <pgrad/envs/wrappers/select_observation.hpp>
#include <pgrad/envs/wrappers/time_limit.hpp>

#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/policies/parameter_blocks.hpp>
#include <pgrad/policies/recurrent_actor_critic.hpp>

#include <pgrad/algorithms/a2c.hpp>
#include <pgrad/algorithms/collector.hpp>
#include <pgrad/algorithms/config.hpp>
#include <pgrad/algorithms/on_policy.hpp>
#include <pgrad/algorithms/policy_gradient.hpp>
#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/algorithms/presets.hpp>
#include <pgrad/algorithms/reinforce.hpp>
#include <pgrad/algorithms/report.hpp>
#include <pgrad/algorithms/rollout_buffer.hpp>
#include <pgrad/algorithms/sequence_minibatch.hpp>

#include <pgrad/training/callbacks.hpp>
#include <pgrad/training/checkpoint.hpp>
#include <pgrad/training/evaluate.hpp>
#include <pgrad/training/export.hpp>
#include <pgrad/training/logger.hpp>
