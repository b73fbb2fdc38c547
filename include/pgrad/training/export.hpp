#pragma once
// pgrad::export_c_header: a trained policy's deterministic action as a dependency-free C header.
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <locale>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <pgrad/core/check.hpp>
#include <pgrad/core/error.hpp>
#include <pgrad/core/file_io.hpp>
#include <pgrad/core/random.hpp>
#include <pgrad/core/running_mean_std.hpp>
#include <pgrad/core/types.hpp>
#include <pgrad/envs/spaces.hpp>
#include <pgrad/envs/transforms.hpp>
#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/nn/activation.hpp>
#include <pgrad/nn/gru.hpp>
#include <pgrad/nn/mlp.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/policies/recurrent_actor_critic.hpp>
#include <pgrad/version.hpp>

namespace pgrad {

/// What export_c_header puts around the actor network: the C symbol prefix, the observation
/// normalisation, the action post-processing and the embedded test vectors.
///
///   observation  o' = clip((o - mean) / sqrt(var + epsilon), -clip, clip)   (NormalizeObservation)
///   discrete     a  = argmax_k logits_k(o')
///   Box, clip    a  = min(max(mu(o'), low), high)                           (evaluate_policy)
///   Box, rescale u  = min(max(mu(o'), rescale_min), rescale_max),
///                a  = clip(low + (high - low) (u - rescale_min) / (rescale_max - rescale_min), low, high)
///                                                                           (RescaleAction)
///   squashed     a  = low + (high - low) (tanh(mu(o')) + 1) / 2              (box_env_actions)
///   Beta         a  = low + (high - low) alpha / (alpha + beta),  alpha = 1 + softplus(x_alpha(o')), ...
/// (a squashed-Gaussian or Beta policy maps onto the box itself: give the bounds with clip_actions.)
struct ExportOptions {
  /// Prefix of every C symbol (<name>_act, <name>_self_test, ...); upper-cased, of the macros
  /// and the include guard. Must match [A-Za-z][A-Za-z0-9_]* and have at most 48 characters.
  std::string name = "policy";

  /// Observation normalisation, applied when observation_mean is non-empty (see
  /// normalize_observations()). Computed in double, like NormalizeObservation.
  Vector<double> observation_mean, observation_var;
  double observation_epsilon = 1e-8;
  double observation_clip = 10.0;

  /// Box actions only: the bounds the mean is clipped to (empty: the raw mean; infinite bounds
  /// allowed when not rescaling). See clip_actions() and rescale_actions().
  Vector<double> action_low, action_high;
  /// true: the policy acts in [rescale_min, rescale_max] and the action is mapped onto
  /// [action_low, action_high] as RescaleAction does (bounds must then be finite).
  bool rescale = false;
  double rescale_min = -1.0, rescale_max = 1.0;

  /// Number of test observations drawn with the Rng and embedded with the library's actions.
  /// With normalisation they are drawn as mean + sqrt(var) * N(0, 1), otherwise as
  /// test_observation_scale * N(0, 1). For discrete policies only observations whose two largest
  /// logits differ by more than 1e-3 (1 + |largest|) are kept, so that float rounding cannot
  /// flip the argmax between the library and the C code.
  Index test_vectors = 8;
  double test_observation_scale = 1.0;
  /// Optional: the raw test observations (observation_size x k), used instead of random ones.
  Matrix<double> test_observations;

  /// Normalise observations with the given statistics (a NormalizeObservation's statistics()).
  ExportOptions& normalize_observations(const RunningMeanStd<double>& statistics, double epsilon = 1e-8,
                                        double clip = 10.0) {
    observation_mean = statistics.mean();
    observation_var = statistics.var();
    observation_epsilon = epsilon;
    observation_clip = clip;
    return *this;
  }
  /// Normalise observations exactly as `wrapper` does now (its statistics, epsilon and clip).
  template <class Env>
  ExportOptions& normalize_observations(const envs::NormalizeObservation<Env>& wrapper) {
    return normalize_observations(wrapper.statistics(), wrapper.epsilon(), wrapper.clip());
  }
  /// Clip the mean action to `space`, as evaluate_policy does for a Box action space.
  template <class S>
  ExportOptions& clip_actions(const envs::Box<S>& space) {
    action_low = space.low.template cast<double>();
    action_high = space.high.template cast<double>();
    rescale = false;
    return *this;
  }
  /// The policy was trained on RescaleAction(env, min, max): clip the mean to [min, max] and map
  /// it onto the bounded `space` of the inner environment.
  template <class S>
  ExportOptions& rescale_actions(const envs::Box<S>& space, double min = -1.0, double max = 1.0) {
    action_low = space.low.template cast<double>();
    action_high = space.high.template cast<double>();
    rescale = true;
    rescale_min = min;
    rescale_max = max;
    return *this;
  }
};

namespace detail {

/// The C spelling of Scalar: type name, literal suffix, significant digits that round-trip and
/// the math functions of that precision.
template <class S>
struct CScalar;
template <>
struct CScalar<float> {
  static constexpr const char* type = "float";
  static constexpr const char* suffix = "f";
  static constexpr int digits = 9;
  static constexpr const char* tanh = "tanhf";
  static constexpr const char* fabs = "fabsf";
  static constexpr const char* exp = "expf";
};
template <>
struct CScalar<double> {
  static constexpr const char* type = "double";
  static constexpr const char* suffix = "";
  static constexpr int digits = 17;
  static constexpr const char* tanh = "tanh";
  static constexpr const char* fabs = "fabs";
  static constexpr const char* exp = "exp";
};

/// A C floating literal that reads back as exactly `value` (locale-independent).
inline std::string c_literal(double value, int digits, const char* suffix) {
  PGRAD_REQUIRE(std::isfinite(value), "export_c_header: cannot write the non-finite value ", value);
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << std::setprecision(digits) << value;
  std::string text = out.str();
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";  // "3" + "f" is not a literal
  return text + suffix;
}

/// `static const <type> <symbol>[n] = { ... };`, eight values per line.
template <class T>
void write_c_array(std::ostringstream& out, const char* type, const std::string& symbol, const T* values, Index n,
                   int digits, const char* suffix) {
  out << "static const " << type << " " << symbol << "[" << n << "] = {";
  for (Index i = 0; i < n; ++i) {
    out << (i % 8 == 0 ? "\n    " : " ") << c_literal(static_cast<double>(values[i]), digits, suffix);
    if (i + 1 < n) out << ",";
  }
  out << "\n};\n";
}

inline bool is_c_identifier(const std::string& name) {
  if (name.empty() || name.size() > 48) return false;
  const auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!alpha(name[0])) return false;
  for (char c : name)
    if (!alpha(c) && !(c >= '0' && c <= '9') && c != '_') return false;
  return true;
}

inline std::string to_upper_ascii(std::string text) {
  for (char& c : text)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return text;
}

/// Throws pgrad::Error naming the first thing in `options` that does not fit the policy.
inline void validate_export_options(const ExportOptions& options, Index observation_size, Index action_size,
                                    bool discrete) {
  PGRAD_REQUIRE(is_c_identifier(options.name), "export_c_header: name '", options.name,
                "' is not a valid C identifier prefix (need [A-Za-z][A-Za-z0-9_]*, at most 48 characters)");
  const auto& mean = options.observation_mean;
  const auto& var = options.observation_var;
  if (mean.size() > 0 || var.size() > 0) {
    PGRAD_REQUIRE(mean.size() == observation_size && var.size() == observation_size,
                  "export_c_header: observation normalisation has ", mean.size(), " means and ", var.size(),
                  " variances, the policy takes ", observation_size, " observations");
    check_finite(mean, "export_c_header: observation_mean");
    check_finite(var, "export_c_header: observation_var");
    PGRAD_REQUIRE((var.array() >= 0.0).all(), "export_c_header: observation_var has a negative entry");
    PGRAD_REQUIRE(std::isfinite(options.observation_epsilon) && options.observation_epsilon > 0.0,
                  "export_c_header: observation_epsilon must be finite and positive, got ",
                  options.observation_epsilon);
    PGRAD_REQUIRE(std::isfinite(options.observation_clip) && options.observation_clip > 0.0,
                  "export_c_header: observation_clip must be finite and positive, got ", options.observation_clip);
  }
  const auto& low = options.action_low;
  const auto& high = options.action_high;
  const bool bounded = low.size() > 0 || high.size() > 0;
  if (discrete) {
    PGRAD_REQUIRE(!bounded && !options.rescale,
                  "export_c_header: action bounds and rescaling apply to Box actions, the policy is discrete");
  } else {
    PGRAD_REQUIRE(!options.rescale || bounded, "export_c_header: rescale is set but action_low/action_high are empty");
    if (bounded) {
      PGRAD_REQUIRE(low.size() == action_size && high.size() == action_size, "export_c_header: action bounds have ",
                    low.size(), " and ", high.size(), " entries, the policy has ", action_size, " action dimensions");
      for (Index i = 0; i < action_size; ++i)
        PGRAD_REQUIRE(!std::isnan(low[i]) && !std::isnan(high[i]) && low[i] <= high[i],
                      "export_c_header: action dimension ", i, " has low ", low[i], " > high ", high[i]);
    }
    if (options.rescale) {
      PGRAD_REQUIRE(low.allFinite() && high.allFinite(), "export_c_header: rescaling needs finite action bounds");
      PGRAD_REQUIRE(std::isfinite(options.rescale_min) && std::isfinite(options.rescale_max) &&
                        options.rescale_min < options.rescale_max,
                    "export_c_header: need finite rescale_min < rescale_max, got [", options.rescale_min, ", ",
                    options.rescale_max, "]");
    }
  }
  if (options.test_observations.size() > 0) {
    PGRAD_REQUIRE(options.test_observations.rows() == observation_size, "export_c_header: test_observations has ",
                  options.test_observations.rows(), " rows, the policy takes ", observation_size, " observations");
    check_finite(options.test_observations, "export_c_header: test_observations");
  } else {
    PGRAD_REQUIRE(options.test_vectors >= 1 && options.test_vectors <= 100000,
                  "export_c_header: test_vectors must be in [1, 100000], got ", options.test_vectors);
    PGRAD_REQUIRE(std::isfinite(options.test_observation_scale) && options.test_observation_scale > 0.0,
                  "export_c_header: test_observation_scale must be finite and positive, got ",
                  options.test_observation_scale);
  }
}

/// The observation normalisation of the exported header, in the library (raw observations, one
/// per column; unchanged without normalisation).
template <class S>
Matrix<S> export_normalized(const ExportOptions& options, const Matrix<S>& raw) {
  if (options.observation_mean.size() == 0) return raw;
  Matrix<S> out(raw.rows(), raw.cols());
  envs::normalize_observation(raw, options.observation_mean, options.observation_var, options.observation_epsilon,
                              options.observation_clip, out);
  return out;
}

/// The margin between the two largest logits of each column, relative to 1 + |largest|
/// (+inf with a single action); with `nvec` (MultiCategorical), the smallest margin among the
/// components' blocks of rows.
template <class S>
RowVector<double> top_two_margin(const Matrix<S>& logits, const std::vector<Index>& nvec = {}) {
  if (nvec.size() > 1) {
    RowVector<double> margin = RowVector<double>::Constant(logits.cols(), std::numeric_limits<double>::infinity());
    Index offset = 0;
    for (Index n : nvec) {
      const Matrix<S> block = logits.middleRows(offset, n);
      margin = margin.cwiseMin(top_two_margin(block));
      offset += n;
    }
    return margin;
  }
  RowVector<double> margin(logits.cols());
  for (Index j = 0; j < logits.cols(); ++j) {
    double first = -std::numeric_limits<double>::infinity(), second = first;
    for (Index k = 0; k < logits.rows(); ++k) {
      const double v = static_cast<double>(logits(k, j));
      if (v > first) {
        second = first;
        first = v;
      } else if (v > second) {
        second = v;
      }
    }
    margin[j] = (first - second) / (1.0 + std::abs(first));
  }
  return margin;
}

/// Box post-processing in Scalar, in the order evaluate_policy and RescaleAction apply it:
/// clip_action to the bounds, or clip_action to [rescale_min, rescale_max] then rescale_action.
template <class S>
Matrix<S> export_postprocess(const Matrix<S>& mean, const ExportOptions& options) {
  if (options.action_low.size() == 0) return mean;
  Matrix<S> out(mean.rows(), mean.cols());
  if (!options.rescale) {
    envs::clip_action(mean, options.action_low, options.action_high, out);
    return out;
  }
  const S min = static_cast<S>(options.rescale_min), max = static_cast<S>(options.rescale_max);
  envs::clip_action(mean, Vector<S>::Constant(mean.rows(), min), Vector<S>::Constant(mean.rows(), max), out);
  envs::rescale_action(out, min, max, options.action_low, options.action_high, out);
  return out;
}

inline constexpr double export_discrete_margin = 1e-3;

/// The environment's deterministic actions of a squashed-Gaussian or Beta policy from its
/// actor's outputs (one column per observation): the distribution's mode mapped onto the box
/// [action_low, action_high] by box_env_actions, in Scalar, as evaluate_policy computes them.
template <class S>
Matrix<S> export_bounded_actions(const Matrix<S>& head, Index action_size, BoxDistribution kind,
                                 const ExportOptions& options) {
  dist::ContinuousDistribution<S> distribution;
  distribution.set_kind(kind);
  if (kind == BoxDistribution::beta)
    distribution.set_heads(head);
  else  // the mode u = μ does not depend on σ
    distribution.set_state_independent(head.topRows(action_size), Vector<S>::Zero(action_size));
  Matrix<S> mode, actions;
  distribution.mode(mode);
  box_env_actions(kind, mode, options.action_low, options.action_high, actions);
  return actions;
}

/// `count` random raw observations (n x count): mean + sqrt(var) * N(0, 1) with normalisation,
/// test_observation_scale * N(0, 1) otherwise.
template <class S>
Matrix<S> export_draw_observations(const ExportOptions& options, Index n, Index count, Rng& rng) {
  const bool normalize = options.observation_mean.size() > 0;
  Matrix<S> x(n, count);
  for (Index j = 0; j < count; ++j)
    for (Index i = 0; i < n; ++i) {
      const double z = rng.normal<double>();
      x(i, j) = static_cast<S>(normalize ? options.observation_mean[i] + std::sqrt(options.observation_var[i]) * z
                                         : options.test_observation_scale * z);
    }
  return x;
}

/// The actor's outputs for raw observations (after the export's normalisation and, with a shared
/// trunk, the trunk): what the exported header computes before choosing the action.
template <class S, class Distribution>
Matrix<S> export_actor_outputs(const ActorCritic<S, Distribution>& policy, const ExportOptions& options,
                               const Matrix<S>& observations) {
  Matrix<S> features, head;
  if (policy.has_shared_trunk()) policy.trunk().predict(export_normalized(options, observations), features);
  policy.actor().predict(policy.has_shared_trunk() ? features : export_normalized(options, observations), head);
  return head;
}

/// The raw test observations (observation_size x k) in Scalar: the given ones or random draws.
template <class S, class Distribution>
Matrix<S> export_test_observations(const ActorCritic<S, Distribution>& policy, const ExportOptions& options, Rng& rng) {
  const Index n = policy.observation_size();
  if (options.test_observations.size() > 0) {
    const Matrix<S> given = options.test_observations.template cast<S>();
    if constexpr (ActorCritic<S, Distribution>::discrete) {
      const Matrix<S> logits = export_actor_outputs(policy, options, given);
      const RowVector<double> margin = top_two_margin(logits, policy.nvec());
      for (Index j = 0; j < margin.size(); ++j)
        PGRAD_REQUIRE(margin[j] > export_discrete_margin, "export_c_header: test observation ", j,
                      " has its two largest logits within ", export_discrete_margin,
                      " (1 + |largest|) of each other; float rounding could flip its argmax");
    }
    return given;
  }
  const auto draw = [&](Index count) { return export_draw_observations<S>(options, n, count, rng); };
  const Index wanted = options.test_vectors;
  if constexpr (!ActorCritic<S, Distribution>::discrete) {
    return draw(wanted);
  } else {
    Matrix<S> chosen(n, wanted), logits;
    Index found = 0;
    for (int round = 0; round < 64 && found < wanted; ++round) {
      const Matrix<S> candidates = draw(4 * wanted);
      logits = export_actor_outputs(policy, options, candidates);
      const RowVector<double> margin = top_two_margin(logits, policy.nvec());
      for (Index j = 0; j < candidates.cols() && found < wanted; ++j)
        if (margin[j] > export_discrete_margin) chosen.col(found++) = candidates.col(j);
    }
    PGRAD_REQUIRE(found == wanted, "export_c_header: found only ", found, " of ", wanted,
                  " random test observations whose two largest logits differ by more than ", export_discrete_margin,
                  " (1 + |largest|); the policy's logits are nearly tied (pass test_observations instead)");
    return chosen;
  }
}

}  // namespace detail

namespace detail {

/// The networks export_c_header writes: the actor MLP (`head`), after an encoder MLP and a GRU
/// for a recurrent policy (both null for a feed-forward one; the encoder may be null alone).
template <class S>
struct ExportedActor {
  const nn::Mlp<S>* encoder;
  const nn::Gru<S>* gru;
  const nn::Mlp<S>* head;
};

/// What the exported header must answer for the test observations, from the actor's outputs
/// (one column each): the argmax (discrete) or the post-processed mean (Box, action_size each).
template <bool Discrete, class S>
std::vector<double> export_expected(const Matrix<S>& head, const ExportOptions& options) {
  std::vector<double> expected;
  if constexpr (Discrete) {
    for (Index j = 0; j < head.cols(); ++j) {
      Index best = 0;
      head.col(j).maxCoeff(&best);
      expected.push_back(static_cast<double>(best));
    }
  } else {
    const Matrix<S> actions = export_postprocess(head, options);
    check_finite(actions, "export_c_header: library actions for the test observations");
    expected.assign(actions.data(), actions.data() + actions.size());
  }
  return expected;
}

/// A MultiCategorical policy's answers: the argmax of each component's block of logits (the first
/// on ties), K per test observation.
template <class S>
std::vector<double> export_expected_components(const Matrix<S>& head, const std::vector<Index>& nvec) {
  std::vector<double> expected;
  for (Index j = 0; j < head.cols(); ++j)
    for (Index offset = 0, c = 0; c < static_cast<Index>(nvec.size()); offset += nvec[static_cast<std::size_t>(c)], ++c) {
      Index best = 0;
      head.col(j).segment(offset, nvec[static_cast<std::size_t>(c)]).maxCoeff(&best);
      expected.push_back(static_cast<double>(best));
    }
  return expected;
}

/// The header's text for `net` (see c_header_source): with a GRU, <name>_act also takes the
/// state (hidden_size values, updated in place) and the test observations are one sequence
/// from a zero state.
template <class S, bool discrete>
std::string c_header_text(const ExportedActor<S>& net, Index obs_size, Index action_size, const ExportOptions& options,
                          const Matrix<S>& test_obs, const std::vector<double>& expected,
                          BoxDistribution box = BoxDistribution::gaussian, const std::vector<Index>& nvec = {}) {
  const bool multi = !nvec.empty();  // MultiCategorical: one argmax per component
  const Index components = static_cast<Index>(nvec.size());
  using C = CScalar<S>;
  const nn::Mlp<S>& actor = *net.head;
  const Index tests = test_obs.cols();
  const std::string& name = options.name;
  const std::string upper = detail::to_upper_ascii(name);
  const char* ctype = C::type;
  const bool normalize = options.observation_mean.size() > 0;
  const bool bounded = !discrete && options.action_low.size() > 0;
  Index max_width = obs_size;
  for (Index width : actor.sizes()) max_width = std::max(max_width, width);
  if (net.encoder)
    for (Index width : net.encoder->sizes()) max_width = std::max(max_width, width);
  const Index state = net.gru ? net.gru->hidden_size() : 0;
  max_width = std::max(max_width, state);
  const std::string state_param = net.gru ? ", " + std::string(ctype) + "* hidden" : "";
  const auto lit = [&](double v) { return detail::c_literal(v, C::digits, C::suffix); };
  const auto dlit = [](double v) { return detail::c_literal(v, 17, ""); };

  std::ostringstream text;
  text.imbue(std::locale::classic());
  // Header comment: what the code computes, for a reader without pgrad.
  text << "/* " << name << ".h: a policy exported by pgrad " << PGRAD_VERSION_STRING << " (export_c_header).\n"
       << " * Generated file; do not edit. C99 and C++, depends only on <math.h> (link with -lm).\n"
       << " *\n"
       << " * Actor: "
       << (discrete                                   ? "Categorical"
           : box == BoxDistribution::gaussian          ? "diagonal Gaussian"
           : box == BoxDistribution::squashed_gaussian ? "tanh-squashed Gaussian"
                                                       : "Beta")
       << " policy, " << ctype << " arithmetic.\n"
       << " *   observation size " << obs_size << ", " << (discrete ? "number of actions " : "action size ")
       << action_size << "\n";
  if (net.gru) {
    text << " *   recurrent: ";
    if (net.encoder)
      for (Index l = 0; l < net.encoder->num_layers(); ++l)
        text << net.encoder->sizes()[static_cast<std::size_t>(l)] << " -> "
             << net.encoder->sizes()[static_cast<std::size_t>(l + 1)] << " ("
             << nn::to_string(net.encoder->activation_of(l)) << ", " << name << "_enc_w" << l << "), ";
    text << "GRU " << net.gru->input_size() << " -> " << state << " (PyTorch's equations: r = sig(W_ir x + b_ir +\n"
         << " *   W_hr h + b_hr), z likewise, n = tanh(W_in x + b_in + r (W_hn h + b_hn)), h' = (1 - z) n + z h;\n"
         << " *   " << name << "_gru_*), then the actor head below on h'\n";
  } else if (net.encoder) {
    text << " *   shared trunk MLP ";
    for (Index l = 0; l < net.encoder->num_layers(); ++l) {
      if (l == 0) text << net.encoder->sizes()[0];
      text << " -> " << net.encoder->sizes()[static_cast<std::size_t>(l + 1)] << " ("
           << nn::to_string(net.encoder->activation_of(l)) << ", " << name << "_enc_w" << l << "),\n *   ";
    }
    text << "then the actor head below on its output\n";
  }
  text << " *   MLP ";
  for (Index l = 0; l < actor.num_layers(); ++l) {
    if (l == 0) text << actor.sizes()[0];
    text << " -> " << actor.sizes()[static_cast<std::size_t>(l + 1)] << " (" << nn::to_string(actor.activation_of(l))
         << ")";
  }
  text << "\n *\n * int " << name << "_act(const " << ctype << "* observation" << state_param
       << (discrete ? "" : ", " + std::string(ctype) + "* action") << ") computes\n";
  if (net.gru)
    text << " *   (hidden: the " << state << " values of the recurrent state, updated in place; zero them at the start\n"
         << " *   of every episode)\n";
  if (normalize)
    text << " *   x_i = clip((o_i - mean_i) / std_i, -" << options.observation_clip << ", " << options.observation_clip
         << "),  std_i = sqrt(var_i + " << options.observation_epsilon << ")\n"
         << " *         (in double, then rounded to " << ctype << "; " << name << "_obs_mean and " << name
         << "_obs_std)\n";
  else
    text << " *   x = o (no observation normalisation)\n";
  text << " *   h_0 = x,  h_{l+1} = f_l(W_l h_l + b_l)  (" << name << "_w<l> row-major out x in, " << name
       << "_b<l>)\n";
  if (multi) {
    text << " *   and writes action[c] = the argmax of component c's " << name << "_nvec[c] rows of h_L (components in\n"
         << " *   order, the first on ties), c < " << components << "; returns 0, or -1 for a non-finite observation.\n"
         << " * int " << name << "_act_masked(const " << ctype << "* observation, const unsigned char* allowed, int* action)\n"
         << " *   the same argmaxes over the actions with allowed[row] != 0 (an environment's action mask, one flag per\n"
         << " *   row of h_L; NULL: all), or -1 when a component allows none.\n";
  } else if (discrete) {
    text << " *   and returns argmax_k h_L[k] (the first on ties), or -1 for a non-finite observation.\n"
         << " * int " << name << "_act_masked(const " << ctype << "* observation" << state_param
         << ", const unsigned char* allowed)\n"
         << " *   the same argmax over the actions k with allowed[k] != 0 (an environment's action mask; NULL:\n"
         << " *   all), or -1 when none is allowed.\n";
  } else {
    if (box == BoxDistribution::squashed_gaussian)
      text << " *   action_d = low_d + (high_d - low_d) (tanh(h_L[d]) + 1) / 2  (" << name << "_action_low, " << name
           << "_action_high)\n";
    else if (box == BoxDistribution::beta)
      text << " *   alpha_d = 1 + softplus(h_L[d]), beta_d = 1 + softplus(h_L[" << action_size
           << " + d]) (in double),\n *   action_d = low_d + (high_d - low_d) alpha_d / (alpha_d + beta_d)  (" << name
           << "_action_low, " << name << "_action_high)\n";
    else if (!bounded)
      text << " *   action = h_L (the mean action, not clipped)\n";
    else if (!options.rescale)
      text << " *   action_d = min(max(h_L[d], low_d), high_d)  (" << name << "_action_low, " << name
           << "_action_high)\n";
    else
      text << " *   u_d = min(max(h_L[d], " << options.rescale_min << "), " << options.rescale_max << "),\n"
           << " *   action_d = clip(low_d + (high_d - low_d) (u_d - (" << options.rescale_min << ")) / ("
           << options.rescale_max << " - (" << options.rescale_min << ")), low_d, high_d)\n";
    text << " *   and returns 0, or -1 (action untouched) for a non-finite observation.\n";
  }
  text << " *\n * int " << name << "_self_test(void) runs the " << tests
       << " embedded test observations and returns how\n"
       << " * many give another action than pgrad computed for them (0 = all agree; "
       << (discrete ? "exact" : "|a - a_pgrad| <= 1e-5 (1 + |a_pgrad|)") << ").\n */\n";

  text << "#ifndef PGRAD_EXPORT_" << upper << "_H\n#define PGRAD_EXPORT_" << upper << "_H\n\n#include <math.h>\n\n";
  text << "#define " << upper << "_OBSERVATION_SIZE " << obs_size << "\n";
  text << "#define " << upper << (discrete ? "_NUM_ACTIONS " : "_ACTION_SIZE ") << action_size << "\n";
  if (multi) text << "#define " << upper << "_NUM_COMPONENTS " << components << "\n";
  if (net.gru) text << "#define " << upper << "_HIDDEN_SIZE " << state << "\n";
  text << "#define " << upper << "_NUM_TEST_VECTORS " << tests << "\n\n";

  if (normalize) {
    Vector<double> stddev(obs_size);
    for (Index i = 0; i < obs_size; ++i)
      stddev[i] = std::sqrt(options.observation_var[i] + options.observation_epsilon);
    detail::write_c_array(text, "double", name + "_obs_mean", options.observation_mean.data(), obs_size, 17, "");
    detail::write_c_array(text, "double", name + "_obs_std", stddev.data(), obs_size, 17, "");
  }
  const auto write_rows = [&](const std::string& symbol, const S* column_major, Index rows, Index cols) {
    const Matrix<S> w_rows = Eigen::Map<const Matrix<S>>(column_major, rows, cols).transpose();
    detail::write_c_array(text, ctype, symbol, w_rows.data(), w_rows.size(), C::digits, C::suffix);
  };
  if (net.encoder)
    for (Index l = 0; l < net.encoder->num_layers(); ++l) {
      write_rows(name + "_enc_w" + std::to_string(l), net.encoder->weight(l).data(), net.encoder->weight(l).rows(),
                 net.encoder->weight(l).cols());
      detail::write_c_array(text, ctype, name + "_enc_b" + std::to_string(l), net.encoder->bias(l).data(),
                            net.encoder->bias(l).size(), C::digits, C::suffix);
    }
  if (net.gru) {
    const S* p = net.gru->parameters().value.data();
    const Index in = net.gru->input_size(), g = 3 * state;
    write_rows(name + "_gru_wi", p, g, in);
    write_rows(name + "_gru_wh", p + g * in, g, state);
    detail::write_c_array(text, ctype, name + "_gru_bi", p + g * (in + state), g, C::digits, C::suffix);
    detail::write_c_array(text, ctype, name + "_gru_bh", p + g * (in + state) + g, g, C::digits, C::suffix);
  }
  for (Index l = 0; l < actor.num_layers(); ++l) {
    // Eigen stores W column-major (out x in); the C code reads it row-major.
    const Matrix<S> w_rows = actor.weight(l).transpose();  // in x out column-major = out x in row-major
    detail::write_c_array(text, ctype, name + "_w" + std::to_string(l), w_rows.data(), w_rows.size(), C::digits,
                          C::suffix);
    detail::write_c_array(text, ctype, name + "_b" + std::to_string(l), actor.bias(l).data(), actor.bias(l).size(),
                          C::digits, C::suffix);
  }
  if (bounded) {
    // Infinite bounds become the largest finite value: clipping a finite mean to it is a no-op.
    const double big = static_cast<double>(std::numeric_limits<S>::max());
    const Vector<double> low = options.action_low.cwiseMax(-big), high = options.action_high.cwiseMin(big);
    detail::write_c_array(text, ctype, name + "_action_low", low.data(), action_size, C::digits, C::suffix);
    detail::write_c_array(text, ctype, name + "_action_high", high.data(), action_size, C::digits, C::suffix);
  }
  // One observation after the other (Eigen's column-major order).
  detail::write_c_array(text, ctype, name + "_test_observations", test_obs.data(), test_obs.size(), C::digits,
                        C::suffix);
  const auto write_ints = [&](const std::string& symbol, const std::vector<double>& values) {
    const std::size_t count = values.size();
    text << "static const int " << symbol << "[" << count << "] = {";
    for (std::size_t j = 0; j < count; ++j)
      text << (j % 16 == 0 ? "\n    " : " ") << static_cast<long long>(values[j]) << (j + 1 < count ? "," : "");
    text << "\n};\n";
  };
  if (multi) write_ints(name + "_nvec", std::vector<double>(nvec.begin(), nvec.end()));
  if (discrete) {
    write_ints(name + "_test_actions", expected);
  } else {
    detail::write_c_array(text, ctype, name + "_test_actions", expected.data(), static_cast<Index>(expected.size()),
                          C::digits, C::suffix);
  }

  // One dense layer with its activation.
  text << "\n/* y = f(W x + b), W row-major (out x in); activation 0 identity, 1 tanh, 2 relu. */\n"
       << "static inline void " << name << "_layer(const " << ctype << "* w, const " << ctype
       << "* b, int in, int out,\n"
       << "    int activation, const " << ctype << "* x, " << ctype << "* y) {\n"
       << "  int o, i;\n"
       << "  for (o = 0; o < out; ++o) {\n"
       << "    const " << ctype << "* row = w + o * in;\n"
       << "    " << ctype << " sum = " << lit(0) << ";\n"
       << "    for (i = 0; i < in; ++i) sum += row[i] * x[i];\n"
       << "    sum += b[o];\n"
       << "    if (activation == 1) sum = " << C::tanh << "(sum);\n"
       << "    else if (activation == 2) sum = sum > " << lit(0) << " ? sum : " << lit(0) << ";\n"
       << "    y[o] = sum;\n"
       << "  }\n"
       << "}\n\n";
  if (net.gru) {
    const Index g = 3 * state;
    const std::string one = lit(1);
    text << "/* h = GRU(x, h), in place. */\n"
         << "static inline void " << name << "_gru(const " << ctype << "* x, " << ctype << "* h) {\n"
         << "  " << ctype << " gi[" << g << "], gh[" << g << "];\n"
         << "  int o;\n"
         << "  " << name << "_layer(" << name << "_gru_wi, " << name << "_gru_bi, " << net.gru->input_size() << ", " << g
         << ", 0, x, gi);\n"
         << "  " << name << "_layer(" << name << "_gru_wh, " << name << "_gru_bh, " << state << ", " << g
         << ", 0, h, gh);\n"
         << "  for (o = 0; o < " << state << "; ++o) {\n"
         << "    const " << ctype << " r = " << one << " / (" << one << " + " << C::exp << "(-(gi[o] + gh[o])));\n"
         << "    const " << ctype << " z = " << one << " / (" << one << " + " << C::exp << "(-(gi[" << state
         << " + o] + gh[" << state << " + o])));\n"
         << "    const " << ctype << " n = " << C::tanh << "(gi[" << 2 * state << " + o] + r * gh[" << 2 * state
         << " + o]);\n"
         << "    h[o] = (" << one << " - z) * n + z * h[o];\n"
         << "  }\n"
         << "}\n\n";
  }

  // The action.
  // Discrete: <name>_act_masked holds the network, and <name>_act calls it with every action allowed.
  text << "static inline int " << name << (discrete ? "_act_masked" : "_act") << "(const " << ctype << "* observation"
       << state_param << (discrete ? ", const unsigned char* allowed" : ", " + std::string(ctype) + "* action")
       << (multi ? ", int* action" : "") << ") {\n"
       << "  " << ctype << " h0[" << max_width << "], h1[" << max_width << "];\n"
       << "  int i;\n"
       << "  for (i = 0; i < " << obs_size << "; ++i)\n"
       << "    if (!isfinite(observation[i])) return -1;\n";
  if (normalize)
    text << "  for (i = 0; i < " << obs_size << "; ++i) {\n"
         << "    double z = ((double)observation[i] - " << name << "_obs_mean[i]) / " << name << "_obs_std[i];\n"
         << "    if (z < " << dlit(-options.observation_clip) << ") z = " << dlit(-options.observation_clip) << ";\n"
         << "    if (z > " << dlit(options.observation_clip) << ") z = " << dlit(options.observation_clip) << ";\n"
         << "    h0[i] = (" << ctype << ")z;\n"
         << "  }\n";
  else
    text << "  for (i = 0; i < " << obs_size << "; ++i) h0[i] = observation[i];\n";
  const auto activation_code = [](nn::Activation a) {
    switch (a) {
      case nn::Activation::identity:
        return 0;
      case nn::Activation::tanh:
        return 1;
      case nn::Activation::relu:
        return 2;
    }
    return -1;
  };
  int current = 0;  // the buffer holding the next layer's input: h0, then alternately h1, h0, ...
  const auto buffer = [](int k) { return k == 0 ? "h0" : "h1"; };
  const auto call_layers = [&](const nn::Mlp<S>& mlp, const std::string& prefix) {
    for (Index l = 0; l < mlp.num_layers(); ++l) {
      text << "  " << name << "_layer(" << name << prefix << "w" << l << ", " << name << prefix << "b" << l << ", "
           << mlp.sizes()[static_cast<std::size_t>(l)] << ", " << mlp.sizes()[static_cast<std::size_t>(l + 1)] << ", "
           << activation_code(mlp.activation_of(l)) << ", " << buffer(current) << ", " << buffer(1 - current) << ");\n";
      current = 1 - current;
    }
  };
  if (net.encoder) call_layers(*net.encoder, "_enc_");
  if (net.gru)
    text << "  " << name << "_gru(" << buffer(current) << ", hidden);\n"
         << "  for (i = 0; i < " << state << "; ++i) " << buffer(current) << "[i] = hidden[i];\n";
  call_layers(actor, "_");
  const char* last = buffer(current);
  if (multi) {
    text << "  {\n"
         << "    int c, offset = 0;\n"
         << "    for (c = 0; c < " << components << "; ++c) {\n"
         << "      int best = -1;\n"
         << "      for (i = 0; i < " << name << "_nvec[c]; ++i)\n"
         << "        if ((allowed == 0 || allowed[offset + i]) && (best < 0 || " << last << "[offset + i] > " << last
         << "[offset + best])) best = i;\n"
         << "      if (best < 0) return -1;\n"
         << "      action[c] = best;\n"
         << "      offset += " << name << "_nvec[c];\n"
         << "    }\n"
         << "    return 0;\n"
         << "  }\n";
  } else if (discrete) {
    text << "  {\n"
         << "    int best = -1;\n"
         << "    for (i = 0; i < " << action_size << "; ++i)\n"
         << "      if ((allowed == 0 || allowed[i]) && (best < 0 || " << last << "[i] > " << last << "[best])) best = i;\n"
         << "    return best;\n"
         << "  }\n";
  } else {
    text << "  for (i = 0; i < " << action_size << "; ++i) {\n"
         << "    " << ctype << " a = " << last << "[i];\n";
    if (box != BoxDistribution::gaussian) {  // the distribution's mode in [-1, 1] or [0, 1], onto the box
      const std::string lo = name + "_action_low[i]", hi = name + "_action_high[i]";
      if (box == BoxDistribution::squashed_gaussian) {
        text << "    a = " << lo << " + (" << hi << " - " << lo << ") * ((" << C::tanh << "(a) + " << lit(1) << ") / "
             << lit(2) << ");\n";
      } else {
        const auto softplus = [](const std::string& x) {
          return "(" + x + " > 0.0 ? " + x + " : 0.0) + log1p(exp(-fabs(" + x + ")))";
        };
        text << "    {\n"
             << "      const double xa = (double)" << last << "[i], xb = (double)" << last << "[" << action_size
             << " + i];\n"
             << "      const " << ctype << " alpha = (" << ctype << ")(1.0 + " << softplus("xa") << ");\n"
             << "      const " << ctype << " beta = (" << ctype << ")(1.0 + " << softplus("xb") << ");\n"
             << "      a = " << lo << " + (" << hi << " - " << lo << ") * (alpha / (alpha + beta));\n"
             << "    }\n";
      }
      text << "    if (a < " << lo << ") a = " << lo << ";\n"
           << "    if (a > " << hi << ") a = " << hi << ";\n";
    } else if (bounded && options.rescale) {
      const std::string mn = lit(options.rescale_min), mx = lit(options.rescale_max);
      text << "    const " << ctype << " lo = " << name << "_action_low[i], hi = " << name << "_action_high[i];\n"
           << "    if (a < " << mn << ") a = " << mn << ";\n"
           << "    if (a > " << mx << ") a = " << mx << ";\n"
           << "    a = lo + (hi - lo) * ((a - (" << mn << ")) / (" << mx << " - (" << mn << ")));\n"
           << "    if (a < lo) a = lo;\n"
           << "    if (a > hi) a = hi;\n";
    } else if (bounded) {
      text << "    if (a < " << name << "_action_low[i]) a = " << name << "_action_low[i];\n"
           << "    if (a > " << name << "_action_high[i]) a = " << name << "_action_high[i];\n";
    }
    text << "    action[i] = a;\n"
         << "  }\n"
         << "  return 0;\n";
  }
  text << "}\n\n";
  if (multi)
    text << "static inline int " << name << "_act(const " << ctype << "* observation, int* action) {\n"
         << "  return " << name << "_act_masked(observation, 0, action);\n"
         << "}\n\n";
  else if (discrete)
    text << "static inline int " << name << "_act(const " << ctype << "* observation" << state_param << ") {\n"
         << "  return " << name << "_act_masked(observation" << (net.gru ? ", hidden" : "") << ", 0);\n"
         << "}\n\n";

  // The self-test.
  const std::string state_arg = net.gru ? ", hidden" : "";
  text << "static inline int " << name << "_self_test(void) {\n"
       << "  int k, mismatches = 0;\n";
  if (net.gru)  // the test observations are one sequence from a zero state
    text << "  " << ctype << " hidden[" << state << "];\n"
         << "  for (k = 0; k < " << state << "; ++k) hidden[k] = " << lit(0) << ";\n";
  text << "  for (k = 0; k < " << tests << "; ++k) {\n"
       << "    const " << ctype << "* observation = " << name << "_test_observations + k * " << obs_size << ";\n";
  if (multi) {
    text << "    int action[" << components << "], d, bad;\n"
         << "    bad = " << name << "_act(observation, action) != 0;\n"
         << "    for (d = 0; d < " << components << " && !bad; ++d)\n"
         << "      if (action[d] != " << name << "_test_actions[k * " << components << " + d]) bad = 1;\n"
         << "    mismatches += bad;\n";
  } else if (discrete) {
    text << "    if (" << name << "_act(observation" << state_arg << ") != " << name
         << "_test_actions[k]) ++mismatches;\n";
  } else {
    text << "    " << ctype << " action[" << action_size << "];\n"
         << "    int d, bad;\n"
         << "    for (d = 0; d < " << action_size << "; ++d) action[d] = " << lit(0) << ";\n"
         << "    bad = " << name << "_act(observation" << state_arg << ", action) != 0;\n"
         << "    for (d = 0; d < " << action_size << " && !bad; ++d) {\n"
         << "      const " << ctype << " expected = " << name << "_test_actions[k * " << action_size << " + d];\n"
         << "      if (!(" << C::fabs << "(action[d] - expected) <= "
         << "1e-5" << C::suffix << " * (" << lit(1) << " + " << C::fabs << "(expected)))) bad = 1;\n"
         << "    }\n"
         << "    mismatches += bad;\n";
  }
  text << "  }\n"
       << "  return mismatches;\n"
       << "}\n\n"
       << "#endif /* PGRAD_EXPORT_" << upper << "_H */\n";
  return text.str();
}

}  // namespace detail

/// The text of a C99 header (also valid C++, no dependency but <math.h>) that computes the
/// deterministic action of `policy`'s actor: observation normalisation, the shared trunk (if
/// any) and the actor MLP with their weights as `static const` arrays (float for Scalar = float, double for double, written with
/// enough digits to read back exactly), then the argmax (discrete, returned by `<name>_act`) or
/// the clipped / rescaled mean (Box, written to `action`). It embeds test observations with the
/// library's actions for them, checked by `<name>_self_test()` (returns the number of
/// mismatching test vectors: discrete exactly, Box within 1e-5 (1 + |a|)). The critic is not
/// exported. Throws pgrad::Error on invalid options (see ExportOptions) or non-finite weights.
/// Cost: one actor forward pass over the test observations, O(parameters) text.
template <class S, class Distribution>
std::string c_header_source(const ActorCritic<S, Distribution>& policy, const ExportOptions& options, Rng& rng) {
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>,
                "export_c_header: Scalar must be float or double");
  constexpr bool discrete = ActorCritic<S, Distribution>::discrete;
  constexpr bool multi_discrete = ActorCritic<S, Distribution>::multi_discrete;
  const nn::Mlp<S>& actor = policy.actor();
  const Index obs_size = policy.observation_size(), action_size = policy.action_size();
  detail::validate_export_options(options, obs_size, action_size, discrete);
  check_finite(actor.parameters().value, "export_c_header: actor parameters");

  // The library's answers for the test observations.
  const Matrix<S> test_obs = detail::export_test_observations(policy, options, rng);
  const nn::Mlp<S>* trunk = policy.has_shared_trunk() ? &policy.trunk() : nullptr;
  if (trunk) check_finite(trunk->parameters().value, "export_c_header: shared trunk parameters");
  const Matrix<S> head = detail::export_actor_outputs(policy, options, test_obs);
  const detail::ExportedActor<S> net{trunk, nullptr, &actor};
  if constexpr (multi_discrete)
    return detail::c_header_text<S, discrete>(net, obs_size, action_size, options, test_obs,
                                             detail::export_expected_components(head, policy.nvec()),
                                             BoxDistribution::gaussian, policy.nvec());
  if constexpr (!discrete) {
    const BoxDistribution box = policy.box_distribution();
    if (box != BoxDistribution::gaussian) {
      PGRAD_REQUIRE(options.action_low.size() > 0 && !options.rescale, "export_c_header: a ",
                    box_distribution_name(box),
                    " policy maps its actions onto the action box itself: give the box with clip_actions(space)");
      for (Index i = 0; i < action_size; ++i)
        PGRAD_REQUIRE(std::isfinite(options.action_low[i]) && std::isfinite(options.action_high[i]) &&
                          options.action_low[i] < options.action_high[i],
                      "export_c_header: a ", box_distribution_name(box), " policy needs finite bounds with low < high; ",
                      "action dimension ", i, " has [", options.action_low[i], ", ", options.action_high[i], "]");
      const Matrix<S> actions = detail::export_bounded_actions(head, action_size, box, options);
      check_finite(actions, "export_c_header: library actions for the test observations");
      return detail::c_header_text<S, discrete>(net, obs_size, action_size, options, test_obs,
                                               std::vector<double>(actions.data(), actions.data() + actions.size()),
                                               box);
    }
  }
  // A state-dependent log-std's rows follow the mean's: the action is the first action_size.
  const Matrix<S> mean = head.topRows(action_size);
  return detail::c_header_text<S, discrete>(net, obs_size, action_size, options, test_obs,
                                           detail::export_expected<discrete>(mean, options));
}

/// Writes c_header_source(policy, options, rng) to `path` with write_file_atomically (a temporary
/// file unique to the call, fsync, rename): on any error (invalid options, unwritable path) a
/// pgrad::Error is thrown and an existing file at `path` is left as it was.
template <class S, class Distribution>
void export_c_header(const ActorCritic<S, Distribution>& policy, const std::string& path, const ExportOptions& options,
                     Rng& rng) {
  write_file_atomically(path, c_header_source(policy, options, rng), "export_c_header");
}

namespace detail {
/// A recurrent policy's test observations: one sequence of test_vectors steps (or the given
/// observations, in order) and the actor's outputs along it from a zero state, in `head`. For
/// a discrete policy every step's two largest logits must differ by more than
/// export_discrete_margin (1 + |largest|): random sequences are drawn until one does.
template <class S, class Distribution>
Matrix<S> export_test_sequence(const RecurrentActorCritic<S, Distribution>& policy, const ExportOptions& options,
                               Rng& rng, Matrix<S>& head) {
  constexpr bool discrete = RecurrentActorCritic<S, Distribution>::discrete;
  RecurrentActorCritic<S, Distribution> stepper = policy;
  const auto replay = [&](const Matrix<S>& raw) {
    const Matrix<S> normalized = export_normalized(options, raw);
    Matrix<S> hidden = Matrix<S>::Zero(stepper.hidden_size(), 1), out;
    head.resize(stepper.action_size(), raw.cols());
    for (Index k = 0; k < raw.cols(); ++k) {
      stepper.actor_outputs(normalized.col(k), hidden, out);
      head.col(k) = out.col(0);
    }
    return !discrete || top_two_margin(head).minCoeff() > export_discrete_margin;
  };
  if (options.test_observations.size() > 0) {
    const Matrix<S> given = options.test_observations.template cast<S>();
    PGRAD_REQUIRE(replay(given), "export_c_header: along the given test sequence two largest logits come within ",
                  export_discrete_margin, " (1 + |largest|) of each other; float rounding could flip an argmax");
    return given;
  }
  for (int round = 0; round < 64; ++round) {
    const Matrix<S> sequence = export_draw_observations<S>(options, policy.observation_size(), options.test_vectors, rng);
    if (replay(sequence)) return sequence;
  }
  PGRAD_REQUIRE(false, "export_c_header: no random test sequence of ", options.test_vectors,
                " steps keeps the two largest logits more than ", export_discrete_margin,
                " (1 + |largest|) apart at every step (pass test_observations or fewer test_vectors)");
  return {};
}
}  // namespace detail

/// The C header of a recurrent policy's deterministic action (see the ActorCritic overload):
/// the actor's encoder, GRU and head, with
///   int <name>_act(const T* observation, T* hidden[, T* action])
/// taking and updating the recurrent state in place (<NAME>_HIDDEN_SIZE values, zeroed by the
/// caller at the start of every episode). The embedded test observations are one sequence from
/// a zero state, and <name>_self_test() replays it. With separate actor and critic GRUs only the
/// actor's is exported (the first recurrent_size rows of the library's state).
template <class S, class Distribution>
std::string c_header_source(const RecurrentActorCritic<S, Distribution>& policy, const ExportOptions& options,
                            Rng& rng) {
  static_assert(std::is_same_v<S, float> || std::is_same_v<S, double>,
                "export_c_header: Scalar must be float or double");
  constexpr bool discrete = RecurrentActorCritic<S, Distribution>::discrete;
  detail::validate_export_options(options, policy.observation_size(), policy.action_size(), discrete);
  check_finite(policy.flat_parameters(ParameterGroup::policy), "export_c_header: actor parameters");
  Matrix<S> head;
  const Matrix<S> test_obs = detail::export_test_sequence(policy, options, rng, head);
  return detail::c_header_text<S, discrete>(
      detail::ExportedActor<S>{policy.encoder(), &policy.gru(), &policy.actor()}, policy.observation_size(),
      policy.action_size(), options, test_obs, detail::export_expected<discrete>(head, options));
}
template <class S, class Distribution>
void export_c_header(const RecurrentActorCritic<S, Distribution>& policy, const std::string& path,
                     const ExportOptions& options, Rng& rng) {
  write_file_atomically(path, c_header_source(policy, options, rng), "export_c_header");
}

}  // namespace pgrad
