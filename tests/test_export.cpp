// export_c_header: the generated C headers are compiled with the C compiler (-std=c99 -Wall -Wextra
// -Werror -pedantic) and their actions compared with the library's deterministic actions taken
// through the real evaluation path (evaluate_policy with NormalizeObservation and RescaleAction
// around a scripted environment that records every action it receives). Also: the embedded
// self-test, exact weights in the header, invalid options, atomic writes, C++ compatibility.
#include <catch2/catch.hpp>

#include <pgrad/envs/wrappers/normalize_observation.hpp>
#include <pgrad/envs/wrappers/rescale_action.hpp>
#include <pgrad/policies/actor_critic.hpp>
#include <pgrad/training/evaluate.hpp>
#include <pgrad/training/export.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <locale>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

// Set by tests/CMakeLists.txt: the C compiler (empty or *-NOTFOUND when CMake found none), the
// C++ compiler and a scratch directory under the build tree.
#ifndef PGRAD_TEST_C_COMPILER
#define PGRAD_TEST_C_COMPILER ""
#endif
#ifndef PGRAD_TEST_CXX_COMPILER
#define PGRAD_TEST_CXX_COMPILER ""
#endif
#ifndef PGRAD_TEST_WORK_DIR
#define PGRAD_TEST_WORK_DIR "/tmp/pgrad_test_export"
#endif

using Catch::Matchers::Contains;
using pgrad::ActorCritic;
using pgrad::ExportOptions;
using pgrad::Index;
using pgrad::Matrix;
using pgrad::Rng;
using pgrad::envs::Box;
using pgrad::envs::Discrete;

namespace {

namespace fs = std::filesystem;
using CategoricalPolicy = ActorCritic<float, pgrad::dist::Categorical<float>>;
using GaussianPolicy = ActorCritic<float, pgrad::dist::ContinuousDistribution<float>>;

constexpr const char* c_flags = "-std=c99 -Wall -Wextra -Werror -pedantic -O2";

// An environment that plays a script of observations (reset gives the first, step k the k-th,
// and the episode terminates after the last) and logs every action it receives.
template <class ActionT, class Space>
struct ScriptEnv {
  using Scalar = float;
  using Observation = Eigen::VectorXf;
  using Action = ActionT;

  std::vector<Observation> script;
  Space actions;
  std::shared_ptr<std::vector<Action>> log = std::make_shared<std::vector<Action>>();
  std::size_t t = 0;

  Box<float> observation_space() const { return Box<float>::unbounded(script.front().size()); }
  Space action_space() const { return actions; }
  Observation reset(Rng&) {
    t = 0;
    return script.front();
  }
  pgrad::envs::StepResult<Observation> step(const Action& action) {
    log->push_back(action);
    ++t;
    pgrad::envs::StepResult<Observation> result;
    result.observation = script[std::min(t, script.size() - 1)];
    result.terminated = t == script.size();
    return result;
  }
};
using DiscreteScript = ScriptEnv<Index, Discrete>;
using BoxScript = ScriptEnv<Eigen::VectorXf, Box<float>>;
static_assert(pgrad::envs::require_env<DiscreteScript>());
static_assert(pgrad::envs::require_env<BoxScript>());

std::string compiler(const char* configured, const char* language) {
  const std::string path = configured;
  INFO("CMake found no " << language << " compiler (got '" << path
                         << "'): export_c_header cannot be checked without one");
  REQUIRE(!path.empty());
  REQUIRE(path.find("NOTFOUND") == std::string::npos);
  return path;
}

fs::path fresh_directory(const std::string& name) {
  const fs::path dir = fs::path(PGRAD_TEST_WORK_DIR) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string quoted(const fs::path& path) {
  const std::string text = path.string();
  REQUIRE(text.find('\'') == std::string::npos);
  return "'" + text + "'";
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

void write_text(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  REQUIRE(out.good());
}

// Runs a shell command with its output in `log`; the exit status (0 = success).
int run(const std::string& command, const fs::path& log) {
  return std::system((command + " > " + quoted(log) + " 2>&1").c_str());
}

// Compiles `source` (C, or C++ with cxx = true) into `program` with warnings as errors.
void compile(const fs::path& source, const fs::path& program, bool cxx = false) {
  const std::string cmd =
      cxx ? "'" + compiler(PGRAD_TEST_CXX_COMPILER, "C++") + "' -x c++ -std=c++11 -Wall -Wextra -Werror -pedantic -O2"
          : "'" + compiler(PGRAD_TEST_C_COMPILER, "C") + "' " + c_flags;
  const fs::path log = program.string() + ".log";
  const int status =
      run(cmd + " -I" + quoted(source.parent_path()) + " -o " + quoted(program) + " " + quoted(source) + " -lm", log);
  INFO("command: " << cmd << " ... " << source << "\n" << read_text(log));
  REQUIRE(status == 0);
}

std::string float_literal(float value) {
  std::ostringstream out;
  out.imbue(std::locale::classic());
  out << std::setprecision(9) << value;
  std::string text = out.str();
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text + "f";
}

// `header` with the first value of the array declared by `declaration` (e.g. "name_b2[2] = {")
// shifted by `delta`.
std::string with_first_value_shifted(const std::string& header, const std::string& declaration, float delta) {
  const auto at = header.find(declaration);
  REQUIRE(at != std::string::npos);
  const auto begin = header.find_first_not_of(" \n", header.find('{', at) + 1);
  const auto end = header.find(',', begin);
  return header.substr(0, begin) + float_literal(std::stof(header.substr(begin, end - begin)) + delta) +
         header.substr(end);
}

// A C program that prints "<name>_self_test() result", then for each observation the return
// value of <name>_act and (Box) the action, then the return value for a NaN observation.
std::string driver_source(const std::string& name, const std::vector<Eigen::VectorXf>& observations, Index action_size,
                          bool discrete) {
  const Index n = observations.front().size();
  std::ostringstream c;
  c << "#include <math.h>\n#include <stdio.h>\n#include \"" << name << ".h\"\n\n"
    << "static const float observations[" << observations.size() * static_cast<std::size_t>(n) << "] = {\n";
  for (const auto& o : observations)
    for (Index i = 0; i < n; ++i) c << "  " << float_literal(o[i]) << ",\n";
  c << "};\n\nint main(void) {\n"
    << "  int k, d;\n"
    << "  float bad[" << n << "];\n"
    << "  float action[" << action_size << "];\n"
    << "  printf(\"%d\\n\", " << name << "_self_test());\n"
    << "  for (k = 0; k < " << observations.size() << "; ++k) {\n";
  if (discrete) {
    c << "    printf(\"%d\\n\", " << name << "_act(observations + k * " << n << "));\n";
  } else {
    c << "    printf(\"%d\", " << name << "_act(observations + k * " << n << ", action));\n"
      << "    for (d = 0; d < " << action_size << "; ++d) printf(\" %.9g\", (double)action[d]);\n"
      << "    printf(\"\\n\");\n";
  }
  c << "  }\n"
    << "  for (d = 0; d < " << n << "; ++d) bad[d] = observations[d];\n"
    << "  bad[" << n - 1 << "] = NAN;\n"
    << "  (void)action;\n"
    << "  printf(\"%d\\n\", " << name << "_act(bad" << (discrete ? "" : ", action") << "));\n"
    << "  return 0;\n}\n";
  return c.str();
}

// Writes `source` as dir/driver.c, compiles and runs it (it must exit with 0) and returns what it
// printed.
std::string run_c_driver(const fs::path& dir, const std::string& source) {
  write_text(dir / "driver.c", source);
  compile(dir / "driver.c", dir / "driver");
  const fs::path out = dir / "driver.out";
  REQUIRE(run(quoted(dir / "driver"), out) == 0);
  return read_text(out);
}

// C definitions of `observations` (float) and `allowed` (the masks' 0/1 flags), both column after
// column, for drivers of masked policies.
std::string c_observations_and_masks(const Matrix<float>& observations, const pgrad::BoolMatrix& masks) {
  std::ostringstream c;
  c << "static const float observations[] = {";
  for (Index k = 0; k < observations.cols(); ++k)
    for (Index i = 0; i < observations.rows(); ++i) c << float_literal(observations(i, k)) << ",";
  c << "};\nstatic const unsigned char allowed[] = {";
  for (Index k = 0; k < masks.cols(); ++k)
    for (Index a = 0; a < masks.rows(); ++a) c << (masks(a, k) ? 1 : 0) << ",";
  c << "};\n";
  return c.str();
}

// What the compiled driver printed.
struct DriverOutput {
  int self_test = -1;
  std::vector<int> returns;
  std::vector<std::vector<double>> actions;  // Box only
  int nonfinite_return = 0;
};

DriverOutput run_driver(const fs::path& dir, const std::string& name, const std::string& header,
                        const std::vector<Eigen::VectorXf>& observations, Index action_size, bool discrete) {
  write_text(dir / (name + ".h"), header);
  std::istringstream in(run_c_driver(dir, driver_source(name, observations, action_size, discrete)));
  in.imbue(std::locale::classic());
  DriverOutput result;
  REQUIRE(in >> result.self_test);
  for (std::size_t k = 0; k < observations.size(); ++k) {
    int r = 0;
    REQUIRE(in >> r);
    result.returns.push_back(r);
    if (!discrete) {
      std::vector<double> a(static_cast<std::size_t>(action_size));
      for (double& v : a) REQUIRE(in >> v);
      result.actions.push_back(a);
    }
  }
  REQUIRE(in >> result.nonfinite_return);
  return result;
}

// The comma-separated literals of `static const <type> <symbol>[n] = { ... };` in a header.
std::vector<double> array_values(const std::string& header, const std::string& symbol) {
  const auto at = header.find(" " + symbol + "[");
  REQUIRE(at != std::string::npos);
  const auto open = header.find('{', at), close = header.find('}', at);
  std::string body = header.substr(open + 1, close - open - 1);
  std::replace(body.begin(), body.end(), ',', ' ');
  std::istringstream in(body);
  in.imbue(std::locale::classic());
  std::vector<double> values;
  std::string token;
  while (in >> token) {
    if (token.back() == 'f') token.pop_back();
    values.push_back(std::stod(token));
  }
  return values;
}

bool close_enough(double actual, double expected) {
  return std::abs(actual - expected) <= 1e-5 * (1.0 + std::abs(expected));
}

// Observations mean + spread * N(0, 1) per feature.
std::vector<Eigen::VectorXf> random_observations(Index count, const Eigen::VectorXd& mean,
                                                 const Eigen::VectorXd& spread, Rng& rng) {
  std::vector<Eigen::VectorXf> out;
  for (Index k = 0; k < count; ++k) {
    Eigen::VectorXf o(mean.size());
    for (Index i = 0; i < mean.size(); ++i) o[i] = static_cast<float>(mean[i] + spread[i] * rng.normal<double>());
    out.push_back(o);
  }
  return out;
}

pgrad::RunningMeanStd<double> statistics(const Eigen::VectorXd& mean, const Eigen::VectorXd& var) {
  pgrad::RunningMeanStd<double> stats(mean.size());
  stats.set(mean, var, 1000.0);
  return stats;
}

}  // namespace

TEST_CASE("export_c_header rejects invalid names and options", "[export]") {
  Rng rng(1);
  pgrad::PolicyConfig config;
  CategoricalPolicy discrete(4, 2, config, rng);
  GaussianPolicy gaussian(3, 2, config, rng);

  for (const std::string& bad : std::vector<std::string>{"", "1policy", "my-policy", "has space", "_policy", "pol.icy",
                                                         "poli\xc3\xa9", std::string(49, 'a')}) {
    ExportOptions options;
    options.name = bad;
    INFO("name '" << bad << "'");
    CHECK_THROWS_WITH(pgrad::c_header_source(discrete, options, rng), Contains("not a valid C identifier"));
  }
  for (const std::string& good : std::vector<std::string>{"p", "CartPole_v1", "policy_2", std::string(48, 'z')}) {
    ExportOptions options;
    options.name = good;
    options.test_vectors = 1;
    INFO("name '" << good << "'");
    CHECK_NOTHROW(pgrad::c_header_source(discrete, options, rng));
  }

  ExportOptions options;
  options.observation_mean = Eigen::VectorXd::Zero(3);
  options.observation_var = Eigen::VectorXd::Ones(3);
  CHECK_THROWS_WITH(pgrad::c_header_source(discrete, options, rng), Contains("takes 4 observations"));
  options.observation_mean = Eigen::VectorXd::Zero(4);
  options.observation_var = -Eigen::VectorXd::Ones(4);
  CHECK_THROWS_WITH(pgrad::c_header_source(discrete, options, rng), Contains("negative"));
  options.observation_var = Eigen::VectorXd::Ones(4);
  options.observation_epsilon = 0.0;
  CHECK_THROWS_WITH(pgrad::c_header_source(discrete, options, rng), Contains("observation_epsilon"));

  ExportOptions bounds;
  bounds.clip_actions(Box<float>::uniform(2, -1.0f, 1.0f));
  CHECK_THROWS_WITH(pgrad::c_header_source(discrete, bounds, rng), Contains("policy is discrete"));
  bounds.clip_actions(Box<float>::uniform(3, -1.0f, 1.0f));
  CHECK_THROWS_WITH(pgrad::c_header_source(gaussian, bounds, rng), Contains("2 action dimensions"));
  bounds.rescale_actions(
      Box<float>(Eigen::Vector2f(-1.0f, -std::numeric_limits<float>::infinity()), Eigen::Vector2f(1.0f, 1.0f)));
  CHECK_THROWS_WITH(pgrad::c_header_source(gaussian, bounds, rng), Contains("finite action bounds"));
  bounds.rescale_actions(Box<float>::uniform(2, -1.0f, 1.0f), 1.0, 1.0);
  CHECK_THROWS_WITH(pgrad::c_header_source(gaussian, bounds, rng), Contains("rescale_min < rescale_max"));

  ExportOptions counts;
  counts.test_vectors = 0;
  CHECK_THROWS_WITH(pgrad::c_header_source(gaussian, counts, rng), Contains("test_vectors"));
  counts.test_vectors = 2;
  counts.test_observations = Matrix<double>::Zero(2, 3);
  CHECK_THROWS_WITH(pgrad::c_header_source(gaussian, counts, rng), Contains("test_observations has 2 rows"));

  // A discrete policy whose logits are all equal has no unambiguous test observation.
  CategoricalPolicy flat(4, 3, config, rng);
  flat.actor().parameters().value.setZero();
  CHECK_THROWS_WITH(pgrad::c_header_source(flat, ExportOptions{}, rng), Contains("nearly tied"));

  // Non-finite weights are refused.
  gaussian.actor().parameters().value[5] = std::numeric_limits<float>::quiet_NaN();
  CHECK_THROWS_WITH(pgrad::c_header_source(gaussian, ExportOptions{}, rng), Contains("actor parameters"));
}

TEST_CASE("export_c_header writes through a temporary file and keeps the old file on failure", "[export]") {
  const fs::path dir = fresh_directory("atomic");
  Rng rng(2);
  pgrad::PolicyConfig config;
  config.actor_hidden = {8};
  CategoricalPolicy policy(4, 2, config, rng);
  const fs::path path = dir / "policy.h";
  pgrad::export_c_header(policy, path.string(), ExportOptions{}, rng);
  const std::string first = read_text(path);
  CHECK_THAT(first, Contains("policy_act"));
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));

  // An invalid option throws before anything is written: the old header stays as it was.
  ExportOptions bad;
  bad.name = "not valid";
  CHECK_THROWS_AS(pgrad::export_c_header(policy, path.string(), bad, rng), pgrad::Error);
  CHECK(read_text(path) == first);
  CHECK_FALSE(fs::exists(path.string() + ".tmp"));

  // An unwritable path throws a pgrad::Error naming it.
  CHECK_THROWS_WITH(pgrad::export_c_header(policy, (dir / "missing" / "policy.h").string(), ExportOptions{}, rng),
                    Contains("cannot open"));
}

TEST_CASE("exported Categorical policy with normalisation matches the library in C", "[export]") {
  const fs::path dir = fresh_directory("categorical");
  Rng rng(3);
  pgrad::PolicyConfig config;
  config.actor_hidden = {32, 16};
  config.activation = pgrad::nn::Activation::relu;
  config.actor_output_gain = 1.0;  // logits well apart (a trained policy's are)
  CategoricalPolicy policy(4, 3, config, rng);
  for (Index l = 0; l < policy.actor().num_layers(); ++l)
    for (Index i = 0; i < policy.actor().bias(l).size(); ++i) policy.actor().bias(l)[i] = 0.1f * rng.normal<float>();

  // Frozen normaliser with clip 2, so that some observations are clipped.
  Eigen::Vector4d mean(0.5, -1.0, 3.0, 0.0), var(4.0, 0.25, 9.0, 1e-2);
  DiscreteScript script{{}, Discrete(3)};
  script.script.push_back(Eigen::VectorXf::Zero(4));
  pgrad::envs::NormalizeObservation<DiscreteScript> probe(script, 1e-8, 2.0);
  probe.set_statistics(statistics(mean, var));
  probe.set_training(false);

  // Observations spread 1.5 standard deviations (some beyond the clip), keeping those whose top
  // two logits are more than 1e-3 apart (float rounding cannot flip their argmax).
  std::vector<Eigen::VectorXf> observations;
  for (const auto& o : random_observations(200, mean, 1.5 * var.cwiseSqrt(), rng)) {
    Matrix<float> logits;
    policy.actor().predict(probe.normalize(o), logits);
    std::vector<float> sorted(logits.data(), logits.data() + 3);
    std::sort(sorted.begin(), sorted.end());
    if (sorted[2] - sorted[1] > 1e-3f * (1.0f + std::abs(sorted[2]))) observations.push_back(o);
    if (observations.size() == 60) break;
  }
  REQUIRE(observations.size() == 60);

  // The library's actions: evaluate_policy through the frozen normaliser, logged by the script.
  DiscreteScript env{observations, Discrete(3)};
  pgrad::envs::NormalizeObservation<DiscreteScript> normalized(env, 1e-8, 2.0);
  normalized.set_statistics(statistics(mean, var));
  normalized.set_training(false);
  pgrad::evaluate_policy(policy, normalized, 1, 7);
  const std::vector<Index>& expected = *env.log;
  REQUIRE(expected.size() == observations.size());
  // Every action occurs, so a constant answer cannot pass.
  for (Index a = 0; a < 3; ++a) CHECK(std::count(expected.begin(), expected.end(), a) > 0);

  ExportOptions options;
  options.name = "cartpole";
  options.test_vectors = 16;
  options.normalize_observations(normalized);
  const std::string header = pgrad::c_header_source(policy, options, rng);

  // Self-contained: one include, an include guard, version and sizes documented, actor only.
  CHECK_THAT(header, Contains("#ifndef PGRAD_EXPORT_CARTPOLE_H"));
  CHECK_THAT(header, Contains("pgrad " PGRAD_VERSION_STRING));
  CHECK_THAT(header, Contains("MLP 4 -> 32 (relu) -> 16 (relu) -> 3 (identity)"));
  CHECK_THAT(header, Contains("#include <math.h>"));
  CHECK(header.find("#include") == header.rfind("#include"));  // nothing else
  CHECK_THAT(header, Contains("cartpole_w2["));
  CHECK(header.find("cartpole_w3[") == std::string::npos);  // no critic or other layers
  // The weights are written exactly (row-major) and the normaliser's std as sqrt(var + eps).
  const std::vector<double> w1 = array_values(header, "cartpole_w1");
  const auto& weight = policy.actor().weight(1);
  REQUIRE(w1.size() == static_cast<std::size_t>(weight.size()));
  for (Index o = 0; o < weight.rows(); ++o)
    for (Index i = 0; i < weight.cols(); ++i)
      REQUIRE(static_cast<float>(w1[static_cast<std::size_t>(o * weight.cols() + i)]) == weight(o, i));
  const std::vector<double> stddev = array_values(header, "cartpole_obs_std");
  for (Index i = 0; i < 4; ++i) CHECK(stddev[static_cast<std::size_t>(i)] == std::sqrt(var[i] + 1e-8));

  const DriverOutput c = run_driver(dir, "cartpole", header, observations, 3, true);
  CHECK(c.self_test == 0);
  CHECK(c.nonfinite_return == -1);
  for (std::size_t k = 0; k < observations.size(); ++k) {
    INFO("observation " << k << ": " << observations[k].transpose());
    CHECK(c.returns[k] == expected[k]);
  }
}

namespace {
// The C header's actions (from run_driver) are the library's deterministic actions (the mean).
void check_mean_actions(GaussianPolicy& policy, const std::vector<Eigen::VectorXf>& observations,
                        const DriverOutput& c) {
  for (std::size_t k = 0; k < observations.size(); ++k) {
    Matrix<float> actions;
    policy.act_deterministic(observations[k], actions);
    for (Index d = 0; d < actions.rows(); ++d)
      CHECK(close_enough(c.actions[k][static_cast<std::size_t>(d)], actions(d, 0)));
  }
}
}  // namespace

TEST_CASE("exported Categorical policy takes an action mask as the library does", "[export]") {
  const fs::path dir = fresh_directory("masked");
  Rng rng(21);
  pgrad::PolicyConfig config;
  config.actor_output_gain = 1.0;
  const Index n = 3, actions = 5, count = 40;
  CategoricalPolicy policy(n, actions, config, rng);
  Matrix<float> observations(n, count);
  pgrad::BoolMatrix masks(actions, count);
  for (Index k = 0; k < count; ++k) {
    for (Index i = 0; i < n; ++i) observations(i, k) = 2.0f * rng.normal<float>();
    for (Index a = 0; a < actions; ++a) masks(a, k) = rng.uniform() < 0.5;
    masks(static_cast<Index>(rng.below(actions)), k) = true;
  }
  pgrad::IndexRowVector expected, unmasked;
  policy.act_deterministic(observations, expected, &masks);
  policy.act_deterministic(observations, unmasked);
  CHECK((expected.array() != unmasked.array()).any());  // the masks matter here

  ExportOptions options;
  options.name = "masked";
  write_text(dir / "masked.h", pgrad::c_header_source(policy, options, rng));
  std::ostringstream c;
  c << "#include <stdio.h>\n#include \"masked.h\"\n\n" << c_observations_and_masks(observations, masks)
    << "int main(void) {\n  int k;\n  const unsigned char none[" << actions << "] = {0};\n"
    << "  for (k = 0; k < " << count << "; ++k) printf(\"%d\\n\", masked_act_masked(observations + k * " << n
    << ", allowed + k * " << actions << "));\n"
    << "  printf(\"%d\\n\", masked_act_masked(observations, none));\n"
    << "  printf(\"%d\\n\", masked_act(observations) == masked_act_masked(observations, 0));\n"
    << "  return 0;\n}\n";
  std::istringstream out(run_c_driver(dir, c.str()));
  for (Index k = 0; k < count; ++k) {
    int action = -2;
    out >> action;
    CAPTURE(k);
    CHECK(action == expected[k]);
  }
  int none = 0, same = 0;
  out >> none >> same;
  CHECK(none == -1);  // no allowed action
  CHECK(same == 1);   // a NULL mask allows every action
}

TEST_CASE("exported MultiDiscrete policy writes one argmax per component, with and without masks", "[export]") {
  const fs::path dir = fresh_directory("multi");
  Rng rng(23);
  pgrad::PolicyConfig config;
  config.actor_output_gain = 1.0;
  const std::vector<Index> nvec{3, 5, 2};
  const Index n = 4, rows = 10, components = 3, count = 40;
  pgrad::ActorCritic<float, pgrad::dist::MultiCategorical<float>> policy(n, nvec, config, rng);
  Matrix<float> observations(n, count);
  pgrad::BoolMatrix masks(rows, count);
  for (Index k = 0; k < count; ++k) {
    for (Index i = 0; i < n; ++i) observations(i, k) = 2.0f * rng.normal<float>();
    for (Index offset = 0, c = 0; c < components; offset += nvec[static_cast<std::size_t>(c)], ++c) {
      const Index size = nvec[static_cast<std::size_t>(c)];
      for (Index a = 0; a < size; ++a) masks(offset + a, k) = rng.uniform() < 0.5;
      masks(offset + static_cast<Index>(rng.below(static_cast<std::uint64_t>(size))), k) = true;
    }
  }
  Eigen::Matrix<Index, Eigen::Dynamic, Eigen::Dynamic> expected, masked;
  policy.act_deterministic(observations, expected);
  policy.act_deterministic(observations, masked, &masks);
  CHECK((expected.array() != masked.array()).any());  // the masks matter here

  ExportOptions options;
  options.name = "multi";
  const std::string header = pgrad::c_header_source(policy, options, rng);
  CHECK_THAT(header, Contains("#define MULTI_NUM_COMPONENTS 3") && Contains("#define MULTI_NUM_ACTIONS 10"));
  write_text(dir / "multi.h", header);
  std::ostringstream c;
  c << "#include <stdio.h>\n#include \"multi.h\"\n\n" << c_observations_and_masks(observations, masks)
    << "int main(void) {\n  int k, d, action[3];\n  printf(\"%d\\n\", multi_self_test());\n"
    << "  for (k = 0; k < " << count << "; ++k) {\n"
    << "    printf(\"%d\", multi_act(observations + k * " << n << ", action));\n"
    << "    for (d = 0; d < 3; ++d) printf(\" %d\", action[d]);\n"
    << "    printf(\" %d\", multi_act_masked(observations + k * " << n << ", allowed + k * " << rows << ", action));\n"
    << "    for (d = 0; d < 3; ++d) printf(\" %d\", action[d]);\n"
    << "    printf(\"\\n\");\n  }\n  return 0;\n}\n";
  std::istringstream out(run_c_driver(dir, c.str()));
  int self_test = -1;
  out >> self_test;
  CHECK(self_test == 0);
  for (Index k = 0; k < count; ++k) {
    CAPTURE(k);
    for (const auto* actions : {&expected, &masked}) {  // multi_act, then multi_act_masked
      int status = -2;
      out >> status;
      CHECK(status == 0);
      for (Index d = 0; d < components; ++d) {
        int a = -2;
        out >> a;
        CHECK(a == (*actions)(d, k));
      }
    }
  }
}

TEST_CASE("exported policies with a shared trunk run the trunk, then the actor, as the library", "[export]") {
  const fs::path dir = fresh_directory("shared_trunk");
  Rng rng(15);
  pgrad::PolicyConfig config;
  config.shared_hidden = {16};
  config.actor_hidden = {8};
  config.activation = pgrad::nn::Activation::relu;
  config.actor_output_gain = 1.0;
  std::vector<Eigen::VectorXf> observations =
      random_observations(40, Eigen::Vector4d::Zero(), Eigen::Vector4d::Constant(1.5), rng);

  CategoricalPolicy categorical(4, 3, config, rng);
  ExportOptions options;
  options.name = "trunkcat";
  const std::string header = pgrad::c_header_source(categorical, options, rng);
  CHECK_THAT(header, Contains("shared trunk MLP 4 -> 16 (relu, trunkcat_enc_w0)"));
  CHECK_THAT(header, Contains("MLP 16 -> 8 (relu) -> 3 (identity)"));
  const DriverOutput c = run_driver(dir, "trunkcat", header, observations, 3, true);
  CHECK(c.self_test == 0);
  int compared = 0;
  for (std::size_t k = 0; k < observations.size(); ++k) {
    Matrix<float> obs = observations[k];
    typename CategoricalPolicy::Actions action;
    categorical.act_deterministic(obs, action);
    const pgrad::Matrix<float> logits = pgrad::detail::export_actor_outputs(categorical, options, obs);
    std::vector<float> sorted(logits.data(), logits.data() + 3);
    std::sort(sorted.begin(), sorted.end());
    if (sorted[2] - sorted[1] <= 1e-3f * (1.0f + std::abs(sorted[2]))) continue;  // a near tie may flip
    ++compared;
    CHECK(c.returns[k] == action[0]);
  }
  CHECK(compared > 20);

  GaussianPolicy gaussian(4, 2, config, rng);
  options.name = "trunkgauss";
  const std::string gaussian_header = pgrad::c_header_source(gaussian, options, rng);
  const DriverOutput g = run_driver(dir, "trunkgauss", gaussian_header, observations, 2, false);
  CHECK(g.self_test == 0);
  check_mean_actions(gaussian, observations, g);
}

TEST_CASE("exported DiagGaussian policy with normalisation and clipping matches the library in C", "[export]") {
  const fs::path dir = fresh_directory("gaussian_clip");
  Rng rng(4);
  pgrad::PolicyConfig config;
  config.actor_output_gain = 2.0;  // means beyond the bounds, so clipping is exercised
  GaussianPolicy policy(3, 2, config, rng);

  const Eigen::Vector3d mean(-0.3, 0.2, 1.5), var(0.8, 0.6, 16.0);
  // One finite and one half-infinite bound.
  const Box<float> bounds(Eigen::Vector2f(-0.4f, -std::numeric_limits<float>::infinity()),
                          Eigen::Vector2f(0.3f, 0.25f));
  std::vector<Eigen::VectorXf> observations = random_observations(40, mean, 2.0 * var.cwiseSqrt(), rng);

  BoxScript env{observations, bounds};
  pgrad::envs::NormalizeObservation<BoxScript> normalized(env);
  normalized.set_statistics(statistics(mean, var));
  normalized.set_training(false);
  pgrad::evaluate_policy(policy, normalized, 1, 7);
  const std::vector<Eigen::VectorXf>& expected = *env.log;
  REQUIRE(expected.size() == observations.size());
  // Both clipped and unclipped values occur in each dimension.
  for (Index d = 0; d < 2; ++d) {
    Index at_bound = 0, inside = 0;
    for (const auto& a : expected) (a[d] == bounds.high[d] || a[d] == bounds.low[d] ? at_bound : inside) += 1;
    CHECK(at_bound > 0);
    CHECK(inside > 0);
  }

  ExportOptions options;
  options.name = "walker";
  options.normalize_observations(normalized);
  options.clip_actions(bounds);
  const std::string header = pgrad::c_header_source(policy, options, rng);
  CHECK_THAT(header, Contains("#define WALKER_ACTION_SIZE 2"));

  const DriverOutput c = run_driver(dir, "walker", header, observations, 2, false);
  CHECK(c.self_test == 0);
  CHECK(c.nonfinite_return == -1);
  for (std::size_t k = 0; k < observations.size(); ++k) {
    INFO("observation " << k << ": " << observations[k].transpose() << " library " << expected[k].transpose());
    CHECK(c.returns[k] == 0);
    for (Index d = 0; d < 2; ++d) CHECK(close_enough(c.actions[k][static_cast<std::size_t>(d)], expected[k][d]));
  }
}

TEST_CASE("exported DiagGaussian policy with a state-dependent log-std head acts with the mean rows", "[export]") {
  const fs::path dir = fresh_directory("gaussian_state_dependent");
  Rng rng(14);
  pgrad::PolicyConfig config;
  config.state_dependent_std = true;
  config.actor_output_gain = 1.0;
  GaussianPolicy policy(3, 2, config, rng);
  REQUIRE(policy.actor().output_size() == 4);
  std::vector<Eigen::VectorXf> observations = random_observations(20, Eigen::Vector3d::Zero(), Eigen::Vector3d::Ones(), rng);
  ExportOptions options;
  options.name = "sdstd";
  const std::string header = pgrad::c_header_source(policy, options, rng);
  CHECK_THAT(header, Contains("#define SDSTD_ACTION_SIZE 2"));
  const DriverOutput c = run_driver(dir, "sdstd", header, observations, 2, false);
  CHECK(c.self_test == 0);
  check_mean_actions(policy, observations, c);
}

TEST_CASE("exported DiagGaussian policy with RescaleAction matches the library in C", "[export]") {
  const fs::path dir = fresh_directory("gaussian_rescale");
  Rng rng(5);
  pgrad::PolicyConfig config;
  config.actor_hidden = {16};
  config.actor_output_gain = 1.5;
  GaussianPolicy policy(3, 2, config, rng);

  const Box<float> inner_space(Eigen::Vector2f(-2.0f, 0.0f), Eigen::Vector2f(2.0f, 5.0f));
  std::vector<Eigen::VectorXf> observations =
      random_observations(40, Eigen::Vector3d::Zero(), Eigen::Vector3d(1.0, 2.0, 0.5), rng);
  BoxScript env{observations, inner_space};
  pgrad::envs::RescaleAction<BoxScript> rescaled(env);
  pgrad::evaluate_policy(policy, rescaled, 1, 7);
  const std::vector<Eigen::VectorXf>& expected = *env.log;
  REQUIRE(expected.size() == observations.size());
  Index at_bound = 0;
  for (const auto& a : expected)
    at_bound += (a.array() == inner_space.low.array() || a.array() == inner_space.high.array()).count();
  CHECK(at_bound > 0);

  ExportOptions options;
  options.name = "pendulum";
  options.test_vectors = 5;
  options.rescale_actions(inner_space);
  const std::string header = pgrad::c_header_source(policy, options, rng);
  CHECK(header.find("pendulum_obs_mean") == std::string::npos);  // no normalisation asked for

  const DriverOutput c = run_driver(dir, "pendulum", header, observations, 2, false);
  CHECK(c.self_test == 0);
  for (std::size_t k = 0; k < observations.size(); ++k) {
    INFO("observation " << k << ": " << observations[k].transpose() << " library " << expected[k].transpose());
    for (Index d = 0; d < 2; ++d) CHECK(close_enough(c.actions[k][static_cast<std::size_t>(d)], expected[k][d]));
  }
}

TEST_CASE("exported squashed-Gaussian and Beta policies map onto the box as evaluate_policy does", "[export]") {
  for (pgrad::BoxDistribution kind : {pgrad::BoxDistribution::squashed_gaussian, pgrad::BoxDistribution::beta}) {
    const std::string name = kind == pgrad::BoxDistribution::beta ? "beta" : "squashed";
    INFO(name);
    const fs::path dir = fresh_directory("bounded_" + name);
    Rng rng(kind == pgrad::BoxDistribution::beta ? 21 : 22);
    pgrad::PolicyConfig config;
    config.box_distribution = kind;
    config.actor_output_gain = 2.0;  // actions spread over the box
    GaussianPolicy policy(3, 2, config, rng);
    const Box<float> box(Eigen::Vector2f(-2.0f, 0.5f), Eigen::Vector2f(2.0f, 3.0f));
    std::vector<Eigen::VectorXf> observations =
        random_observations(30, Eigen::Vector3d::Zero(), Eigen::Vector3d(1.0, 2.0, 0.5), rng);
    BoxScript env{observations, box};
    const BoxScript unbounded{observations, Box<float>(Eigen::Vector2f(-2.0f, 0.5f),
                                                       Eigen::Vector2f(2.0f, std::numeric_limits<float>::infinity()))};
    CHECK_THROWS_WITH(pgrad::make_policy<GaussianPolicy>(unbounded, config, rng),
                      Contains("policy maps its actions onto the action box, whose dimension 1 is [0.5, inf]"));
    pgrad::evaluate_policy(policy, env, 1, 7);
    const std::vector<Eigen::VectorXf>& expected = *env.log;
    REQUIRE(expected.size() == observations.size());
    for (const auto& a : expected)  // inside the box, not clipped at it
      CHECK((a.array() > box.low.array() && a.array() < box.high.array()).all());

    ExportOptions options;
    options.name = name;
    CHECK_THROWS_WITH(pgrad::c_header_source(policy, options, rng),
                      Contains("maps its actions onto the action box itself: give the box with clip_actions(space)"));
    options.clip_actions(box);
    const std::string header = pgrad::c_header_source(policy, options, rng);
    CHECK_THAT(header, Contains(kind == pgrad::BoxDistribution::beta ? "Beta policy" : "tanh-squashed Gaussian policy"));
    const DriverOutput c = run_driver(dir, name, header, observations, 2, false);
    CHECK(c.self_test == 0);
    CHECK(c.nonfinite_return == -1);
    for (std::size_t k = 0; k < observations.size(); ++k) {
      INFO("observation " << k << ": library " << expected[k].transpose());
      CHECK(c.returns[k] == 0);
      for (Index d = 0; d < 2; ++d) CHECK(close_enough(c.actions[k][static_cast<std::size_t>(d)], expected[k][d]));
    }
  }
}

TEST_CASE("exported double policy uses double arithmetic and passes its self test", "[export]") {
  const fs::path dir = fresh_directory("double");
  Rng rng(6);
  pgrad::PolicyConfig config;
  config.actor_hidden = {5};
  ActorCritic<double, pgrad::dist::ContinuousDistribution<double>> policy(2, 1, config, rng);
  ExportOptions options;
  options.name = "dbl";
  options.test_vectors = 4;
  const std::string header = pgrad::c_header_source(policy, options, rng);
  CHECK_THAT(header, Contains("static inline int dbl_act(const double* observation, double* action)"));
  // Weights with 17 significant digits read back exactly.
  const std::vector<double> w0 = array_values(header, "dbl_w0");
  for (Index o = 0; o < 5; ++o)
    for (Index i = 0; i < 2; ++i) CHECK(w0[static_cast<std::size_t>(o * 2 + i)] == policy.actor().weight(0)(o, i));
  write_text(dir / "dbl.h", header);
  write_text(dir / "main.c", "#include <stdio.h>\n#include \"dbl.h\"\nint main(void) { return dbl_self_test(); }\n");
  compile(dir / "main.c", dir / "main");
  CHECK(run(quoted(dir / "main"), dir / "main.out") == 0);
}

TEST_CASE("the self test of a header with a tampered weight fails", "[export]") {
  const fs::path dir = fresh_directory("tampered");
  Rng rng(7);
  pgrad::PolicyConfig config;
  config.actor_hidden = {8, 8};
  GaussianPolicy policy(3, 2, config, rng);
  ExportOptions options;
  options.name = "tamper";
  options.test_vectors = 6;
  const std::string header = pgrad::c_header_source(policy, options, rng);

  // Shift the first output bias by 0.5: every unclipped test action is now off.
  const std::string tampered = with_first_value_shifted(header, "tamper_b2[2] = {", 0.5f);

  for (const auto& [text, expected_mismatches] : {std::pair{header, 0}, std::pair{tampered, 6}}) {
    write_text(dir / "tamper.h", text);
    write_text(dir / "main.c",
               "#include <stdio.h>\n#include \"tamper.h\"\nint main(void) { printf(\"%d\\n\", tamper_self_test()); "
               "return 0; }\n");
    compile(dir / "main.c", dir / "main");
    REQUIRE(run(quoted(dir / "main"), dir / "main.out") == 0);
    CHECK(std::stoi(read_text(dir / "main.out")) == expected_mismatches);
  }
}

TEST_CASE("exported headers compile together as C and as C++ without warnings", "[export]") {
  const fs::path dir = fresh_directory("together");
  Rng rng(8);
  pgrad::PolicyConfig config;
  config.actor_hidden = {4};
  config.actor_output_gain = 1.0;
  CategoricalPolicy discrete(4, 2, config, rng);
  GaussianPolicy gaussian(3, 1, config, rng);
  ExportOptions a;
  a.name = "first";
  a.normalize_observations(statistics(Eigen::Vector4d::Zero(), Eigen::Vector4d::Ones()));
  ExportOptions b;
  b.name = "second";
  b.clip_actions(Box<float>::uniform(1, -2.0f, 2.0f));
  pgrad::export_c_header(discrete, (dir / "first.h").string(), a, rng);
  pgrad::export_c_header(gaussian, (dir / "second.h").string(), b, rng);
  // Both twice (include guards), nothing called (no unused-function or unused-variable warnings).
  write_text(dir / "unused.c",
             "#include \"first.h\"\n#include \"second.h\"\n#include \"first.h\"\n#include \"second.h\"\n"
             "int main(void) { return FIRST_OBSERVATION_SIZE + SECOND_ACTION_SIZE == 5 ? 0 : 1; }\n");
  compile(dir / "unused.c", dir / "unused_c");
  compile(dir / "unused.c", dir / "unused_cxx", true);
  CHECK(run(quoted(dir / "unused_c"), dir / "unused_c.out") == 0);
  // The self tests pass when compiled as C++ too.
  write_text(dir / "both.c",
             "#include \"first.h\"\n#include \"second.h\"\n"
             "int main(void) { return first_self_test() + second_self_test(); }\n");
  compile(dir / "both.c", dir / "both_cxx", true);
  CHECK(run(quoted(dir / "both_cxx"), dir / "both_cxx.out") == 0);
}

// Recurrent policies: the header carries the actor's encoder, GRU and head, <name>_act takes and
// updates the state, and the self test replays one sequence from a zero state (a wrong state
// update would change later actions). Checked as C and, for one of them, with a GRU bias tampered.
TEST_CASE("exported recurrent policies take and return the state and match the library along a sequence",
          "[export][recurrent]") {
  const fs::path dir = fresh_directory("recurrent");
  Rng rng(9);
  pgrad::PolicyConfig config;
  config.shared_hidden = {6};
  config.recurrent_size = 5;
  config.actor_hidden = {4};
  config.critic_hidden = {4};
  config.actor_output_gain = 1.0;
  pgrad::RecurrentActorCritic<float, pgrad::dist::Categorical<float>> discrete(3, 3, config, rng);
  config.shared_hidden = {};
  config.recurrent_shared = false;
  pgrad::RecurrentActorCritic<float, pgrad::dist::ContinuousDistribution<float>> gaussian(3, 2, config, rng);

  ExportOptions a;
  a.name = "rdisc";
  a.test_vectors = 12;
  a.normalize_observations(statistics(Eigen::Vector3d(0.5, -1, 2), Eigen::Vector3d(4, 0.25, 1)));
  ExportOptions b;
  b.name = "rgauss";
  b.test_vectors = 12;
  b.action_low = Eigen::Vector2d(-0.5, -1);
  b.action_high = Eigen::Vector2d(0.5, 1);
  const std::string first = pgrad::c_header_source(discrete, a, rng);
  const std::string second = pgrad::c_header_source(gaussian, b, rng);
  CHECK_THAT(first, Contains("static inline int rdisc_act(const float* observation, float* hidden)"));
  CHECK_THAT(first, Contains("static inline int rdisc_act_masked(const float* observation, float* hidden, const "
                             "unsigned char* allowed)"));
  CHECK_THAT(first, Contains("#define RDISC_HIDDEN_SIZE 5"));
  CHECK_THAT(second, Contains("static inline int rgauss_act(const float* observation, float* hidden, float* action)"));
  write_text(dir / "rdisc.h", first);
  write_text(dir / "rgauss.h", second);
  write_text(dir / "main.c",
             "#include <stdio.h>\n#include \"rdisc.h\"\n#include \"rgauss.h\"\n"
             "int main(void) { printf(\"%d %d\\n\", rdisc_self_test(), rgauss_self_test()); return 0; }\n");
  compile(dir / "main.c", dir / "main");
  REQUIRE(run(quoted(dir / "main"), dir / "main.out") == 0);
  CHECK(read_text(dir / "main.out") == "0 0\n");

  // The GRU's recurrent bias changes every action after the first: the self test sees it.
  write_text(dir / "rgauss.h", with_first_value_shifted(second, "rgauss_gru_bh[15] = {", 0.5f));
  compile(dir / "main.c", dir / "main");
  REQUIRE(run(quoted(dir / "main"), dir / "main.out") == 0);
  CHECK(std::stoi(read_text(dir / "main.out").substr(2)) > 0);
}
