// Training logs: CSV file (CleanRL column names), console progress printer, callback combinators.
#include <catch2/catch.hpp>

#include <pgrad/algorithms/ppo.hpp>
#include <pgrad/envs/cartpole.hpp>
#include <pgrad/training/callbacks.hpp>
#include <pgrad/training/logger.hpp>

#include "temp_path.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

namespace {

using pgrad_test::TempPath;
using pgrad::algo::UpdateReport;
using Catch::Matchers::Contains;

const char* const expected_header =
    "global_step,charts/episodic_return,charts/episodic_length,charts/SPS,charts/learning_rate,"
    "losses/policy_loss,losses/value_loss,losses/entropy,losses/approx_kl,losses/clipfrac,"
    "losses/explained_variance,iteration,episodes,seconds,grad_norm";

std::vector<std::string> read_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts(1);
  for (char c : text) {
    if (c == separator)
      parts.emplace_back();
    else
      parts.back() += c;
  }
  return parts;
}

double parse(const std::string& field) {
  char* end = nullptr;
  const double value = std::strtod(field.c_str(), &end);
  REQUIRE(!field.empty());
  REQUIRE(*end == '\0');  // the whole field is a number
  return value;
}

/// Report k of a synthetic run: every field distinct and not round in binary.
UpdateReport csv_report(long long k) {
  UpdateReport r;
  r.iteration = k;
  r.steps = 512 * k;
  r.episodes = 3 * k;
  r.mean_return = 21.5 + 0.1 * static_cast<double>(k);
  r.mean_length = 19.25 + static_cast<double>(k);
  r.steps_per_second = 12345.678;
  r.seconds = 0.1 * static_cast<double>(k);
  r.learning_rate = 2.5e-4 * (1.0 - static_cast<double>(k) / 10.0);
  r.policy_loss = -0.0123 * static_cast<double>(k);
  r.value_loss = 45.6;
  r.entropy = 0.6931471805599453;
  r.approx_kl = 1.5e-3;
  r.clip_fraction = 0.125;
  r.explained_variance = -0.25;
  r.grad_norm = 0.5 / static_cast<double>(k);
  return r;
}

/// Report k of a run of 1000 steps, 200 per update, at 100 steps per second.
UpdateReport progress_report(long long k) {
  UpdateReport r;
  r.iteration = k;
  r.steps = 200 * k;
  r.episodes = k;
  r.mean_return = 10.0 * static_cast<double>(k);
  r.mean_length = 5.0 * static_cast<double>(k);
  r.steps_per_second = 100;
  r.seconds = 2.0 * static_cast<double>(k);
  r.learning_rate = 1e-3;
  r.policy_loss = 0.01 * static_cast<double>(k);
  r.value_loss = 0.5 * static_cast<double>(k);
  r.entropy = 0.6;
  r.approx_kl = 0.002;
  r.clip_fraction = 0.1;
  r.explained_variance = 0.5;
  return r;
}

std::string read_all(std::FILE* file) {
  std::fflush(file);
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
  return text;
}

long count(const std::string& text, char c) { return static_cast<long>(std::count(text.begin(), text.end(), c)); }

}  // namespace

TEST_CASE("CsvLogger writes the header and one row per update that parse back", "[logger]") {
  const TempPath file("rows.csv");
  {
    pgrad::CsvLogger logger(file.path);
    CHECK(logger.path() == file.path);
    for (long long k = 1; k <= 3; ++k) CHECK(logger(csv_report(k)));
    CHECK(logger.rows() == 3);
  }
  const auto lines = read_lines(file.path);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0] == expected_header);
  CHECK(pgrad::CsvLogger::num_columns == 15);
  for (long long k = 1; k <= 3; ++k) {
    const auto fields = split(lines[static_cast<std::size_t>(k)], ',');
    REQUIRE(fields.size() == 15);
    std::vector<double> values;
    for (const auto& field : fields) {
      values.push_back(parse(field));
      CHECK(std::isfinite(values.back()));
    }
    const UpdateReport r = csv_report(k);
    const double eps = 1e-9;  // 10 significant digits
    CHECK(fields[0] == std::to_string(r.steps));  // integers exactly
    CHECK(values[1] == Approx(r.mean_return).epsilon(eps));
    CHECK(values[2] == Approx(r.mean_length).epsilon(eps));
    CHECK(values[3] == Approx(r.steps_per_second).epsilon(eps));
    CHECK(values[4] == Approx(r.learning_rate).epsilon(eps));
    CHECK(values[5] == Approx(r.policy_loss).epsilon(eps));
    CHECK(values[6] == Approx(r.value_loss).epsilon(eps));
    CHECK(values[7] == Approx(r.entropy).epsilon(eps));
    CHECK(values[8] == Approx(r.approx_kl).epsilon(eps));
    CHECK(values[9] == Approx(r.clip_fraction).epsilon(eps));
    CHECK(values[10] == Approx(r.explained_variance).epsilon(eps));
    CHECK(fields[11] == std::to_string(r.iteration));
    CHECK(fields[12] == std::to_string(r.episodes));
    CHECK(values[13] == Approx(r.seconds).epsilon(eps));
    CHECK(values[14] == Approx(r.grad_norm).epsilon(eps));
  }
}

TEST_CASE("CsvLogger flushes every row before returning", "[logger]") {
  const TempPath file("flush.csv");
  pgrad::CsvLogger logger(file.path);
  CHECK(read_lines(file.path).size() == 1);  // the header is on disk at once
  logger(csv_report(1));
  CHECK(read_lines(file.path).size() == 2);  // read while the logger still holds the file open
  logger(csv_report(2));
  const auto lines = read_lines(file.path);
  REQUIRE(lines.size() == 3);
  CHECK(split(lines[2], ',')[0] == "1024");
}

TEST_CASE("CsvLogger copies share one file", "[logger]") {
  const TempPath file("copies.csv");
  {
    pgrad::CsvLogger original(file.path);
    pgrad::CsvLogger copy = original;
    original(csv_report(1));
    copy(csv_report(2));
    CHECK(original.rows() == 2);
    CHECK(copy.rows() == 2);
  }
  const auto lines = read_lines(file.path);
  REQUIRE(lines.size() == 3);
  CHECK(split(lines[1], ',')[0] == "512");
  CHECK(split(lines[2], ',')[0] == "1024");
}

TEST_CASE("CsvLogger on an unwritable path throws naming the path", "[logger]") {
  SECTION("missing directory") {
    const TempPath directory("missing_dir");
    const std::string path = directory.path + "/log.csv";
    CHECK_THROWS_AS(pgrad::CsvLogger(path), pgrad::Error);
    CHECK_THROWS_WITH(pgrad::CsvLogger(path), Contains(path) && Contains("cannot open"));
  }
  SECTION("path is a directory") {
    const TempPath directory("a_directory");
    std::filesystem::create_directory(directory.path);
    CHECK_THROWS_WITH(pgrad::CsvLogger(directory.path), Contains(directory.path) && Contains("cannot open"));
  }
  SECTION("empty path") { CHECK_THROWS_WITH(pgrad::CsvLogger(""), Contains("empty path")); }
  SECTION("device full") {
    if (!std::filesystem::exists("/dev/full")) return;  // Linux only
    CHECK_THROWS_WITH(pgrad::CsvLogger("/dev/full"), Contains("'/dev/full'") && Contains("writing"));
  }
}

TEST_CASE("ProgressPrinter prints plain lines when the output is not a terminal", "[logger]") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  {
    pgrad::ProgressPrinter printer(1000, 2, out);  // automatic style: a temporary file is no terminal
    CHECK_FALSE(printer.live());
    for (long long k = 1; k <= 5; ++k) CHECK(printer(progress_report(k)));
    printer.finish();  // the last update was printed already: nothing more
  }
  const std::string text = read_all(out);
  std::fclose(out);
  CHECK(count(text, '\r') == 0);
  const auto lines = split(text, '\n');
  REQUIRE(lines.size() == 4);  // updates 2 and 4 (every 2), 5 (reached total), then "" after the last '\n'
  CHECK(lines[0] ==
        "steps=400/1000 (40.0%) episodes=2 mean_return=20.0 mean_length=10.0 sps=100 policy_loss=0.0200 "
        "value_loss=1.0000 entropy=0.600 approx_kl=0.00200 clipfrac=0.100 explained_variance=0.500 "
        "elapsed=0:04 eta=0:06");
  CHECK_THAT(lines[1], Contains("steps=800/1000 (80.0%) episodes=4 mean_return=40.0"));
  CHECK_THAT(lines[1], Contains("elapsed=0:08 eta=0:02"));
  CHECK_THAT(lines[2], Contains("steps=1000/1000 (100.0%) episodes=5 mean_return=50.0"));
  CHECK_THAT(lines[2], Contains("elapsed=0:10 eta=0:00"));
  CHECK(lines[3].empty());
}

TEST_CASE("ProgressPrinter in plain lines prints the last update on finish after an early stop", "[logger]") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  {
    pgrad::ProgressPrinter printer(1000, 2, out, pgrad::ProgressStyle::lines);
    for (long long k = 1; k <= 3; ++k) printer(progress_report(k));
    printer.finish();
    printer.finish();  // idempotent
  }
  const auto lines = split(read_all(out), '\n');
  std::fclose(out);
  REQUIRE(lines.size() == 3);
  CHECK_THAT(lines[0], Contains("steps=400/1000 "));
  CHECK_THAT(lines[1], Contains("steps=600/1000 (60.0%)"));
  CHECK_THAT(lines[1], Contains("eta=0:04"));
}

TEST_CASE("ProgressPrinter draws one live bar line with percentage and ETA", "[logger]") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  {
    pgrad::ProgressPrinter printer(1000, 2, out, pgrad::ProgressStyle::bar);
    CHECK(printer.live());
    for (long long k = 1; k <= 5; ++k) printer(progress_report(k));
    printer.finish();  // the bar ended at 100%: nothing more
  }
  const std::string text = read_all(out);
  std::fclose(out);
  CHECK(count(text, '\r') == 5);  // one redraw per update (2 s apart)
  CHECK(count(text, '\n') == 1);
  CHECK(text.back() == '\n');
  const auto draws = split(text, '\r');
  REQUIRE(draws.size() == 6);
  CHECK(draws[0].empty());
  // 20% of a 16-character bar = 3.2 -> 3 filled; ETA (1000 - 200) / 100 = 8 s.
  CHECK(draws[1] == "[###.............]  20.0% 200/1000  return 10.0  sps 100  eta 0:08");
  CHECK(draws[3] == "[#########.......]  60.0% 600/1000  return 30.0  sps 100  eta 0:04");
  CHECK(draws[5] == "[################] 100.0% 1000/1000  return 50.0  sps 100  eta 0:00\n");
  for (const auto& draw : draws) CHECK(draw.size() < 80);  // fits an 80-column terminal
}

TEST_CASE("ProgressPrinter bar pads over a longer line and throttles redraws", "[logger]") {
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  {
    pgrad::ProgressPrinter printer(1000000, 1, out, pgrad::ProgressStyle::bar);
    UpdateReport r = progress_report(1);
    r.steps = 250000;
    r.steps_per_second = 150000;
    r.seconds = 1.0;
    r.mean_return = -1234.5;
    printer(r);  // drawn (first)
    r.steps = 260000;
    r.seconds = 1.05;
    r.episodes = 0;  // no finished episode: "return -", a shorter line
    printer(r);  // skipped: 0.05 s after the last draw
    r.steps = 300000;
    r.seconds = 1.2;
    printer(r);  // drawn
  }  // destroyed without finish(): the line is still ended
  const std::string text = read_all(out);
  std::fclose(out);
  const auto draws = split(text, '\r');
  REQUIRE(draws.size() == 3);
  CHECK(draws[1] == "[####............]  25.0% 250.0k/1.00M  return -1234.5  sps 150.0k  eta 0:05");
  const std::string shorter = "[####............]  30.0% 300.0k/1.00M  return -  sps 150.0k  eta 0:05";
  REQUIRE(draws[2].size() == draws[1].size() + 1);  // padded to the previous length, then '\n'
  CHECK(draws[2].substr(0, shorter.size()) == shorter);
  CHECK(draws[2].find_first_not_of(' ', shorter.size()) == draws[2].size() - 1);
  CHECK(draws[2].back() == '\n');
}

TEST_CASE("ProgressPrinter rejects bad arguments", "[logger]") {
  CHECK_THROWS_WITH(pgrad::ProgressPrinter(0), Contains("total_steps"));
  CHECK_THROWS_WITH(pgrad::ProgressPrinter(100, 0), Contains("every"));
  CHECK_THROWS_WITH(pgrad::ProgressPrinter(100, 1, nullptr), Contains("FILE"));
}

TEST_CASE("stop_at_return stops once the mean return reaches the threshold", "[logger]") {
  const auto stop = pgrad::stop_at_return(475.0);
  UpdateReport r;
  r.episodes = 0;
  r.mean_return = 0;
  CHECK(stop(r));
  r.episodes = 10;
  r.mean_return = 474.9;
  CHECK(stop(r));
  r.mean_return = 475.0;
  CHECK_FALSE(stop(r));
  r.mean_return = 500.0;
  CHECK_FALSE(stop(r));
}

TEST_CASE("stop_at_return with a negative threshold waits for finished episodes", "[logger]") {
  const auto stop = pgrad::stop_at_return(-250.0, 5);
  UpdateReport r;
  r.episodes = 0;
  r.mean_return = 0;  // what the loop reports before any episode ends
  CHECK(stop(r));
  r.episodes = 4;
  r.mean_return = -200;
  CHECK(stop(r));  // fewer than min_episodes
  r.episodes = 5;
  CHECK_FALSE(stop(r));
  r.mean_return = -250.5;
  CHECK(stop(r));
  CHECK_THROWS_WITH(pgrad::stop_at_return(std::nan("")), Contains("threshold"));
  CHECK_THROWS_WITH(pgrad::stop_at_return(1.0, 0), Contains("min_episodes"));
}

TEST_CASE("all_of calls every callback in order and stops when any asks to", "[logger]") {
  std::vector<int> calls;
  bool second_says = true;
  const auto callback = pgrad::all_of(
      [&](const UpdateReport&) {
        calls.push_back(1);
        return true;
      },
      [&](const UpdateReport&) {
        calls.push_back(2);
        return second_says;
      },
      [&](const UpdateReport&) { calls.push_back(3); },  // void: never stops
      pgrad::algo::UpdateCallback{});                   // empty: skipped
  const UpdateReport r;
  CHECK(callback(r));
  CHECK(calls == std::vector<int>{1, 2, 3});
  second_says = false;
  CHECK_FALSE(callback(r));
  CHECK(calls == std::vector<int>{1, 2, 3, 1, 2, 3});  // the third still ran
  CHECK(pgrad::all_of()(r));                           // nothing to stop it
}

TEST_CASE("all_of keeps state through std::ref and stops on stop_at_return", "[logger]") {
  struct Counter {
    int calls = 0;
    bool operator()(const UpdateReport&) {
      ++calls;
      return true;
    }
  } counter;
  const auto callback = pgrad::all_of(std::ref(counter), pgrad::stop_at_return(100.0));
  UpdateReport r;
  r.episodes = 1;
  r.mean_return = 99;
  CHECK(callback(r));
  r.mean_return = 100;
  CHECK_FALSE(callback(r));
  CHECK(counter.calls == 2);
}

TEST_CASE("CsvLogger and ProgressPrinter log a real PPO run", "[logger]") {
  using Env = pgrad::envs::CartPole<float>;
  const TempPath file("ppo.csv");
  std::FILE* out = std::tmpfile();
  REQUIRE(out != nullptr);
  pgrad::algo::PpoConfig config;  // 4 environments x 128 steps = 512 steps per update
  pgrad::algo::Ppo<Env> ppo(Env{}, config, 7);
  {
    pgrad::ProgressPrinter progress(2048, 1, out);
    ppo.learn(2048, pgrad::all_of(pgrad::CsvLogger(file.path), progress));
    progress.finish();
  }
  const std::string console = read_all(out);
  std::fclose(out);
  CHECK(count(console, '\n') == 4);
  CHECK_THAT(console, Contains("steps=2048/2048 (100.0%)"));

  const auto lines = read_lines(file.path);
  REQUIRE(lines.size() == 5);
  CHECK(lines[0] == expected_header);
  for (std::size_t row = 1; row < lines.size(); ++row) {
    const auto fields = split(lines[row], ',');
    REQUIRE(fields.size() == 15);
    for (const auto& field : fields) CHECK(std::isfinite(parse(field)));
    CHECK(parse(fields[0]) == static_cast<double>(512 * row));  // global_step
    CHECK(parse(fields[11]) == static_cast<double>(row));       // iteration
    CHECK(parse(fields[3]) > 0);                                 // SPS
    CHECK(parse(fields[7]) > 0);                                 // entropy of a stochastic policy
  }
  CHECK(parse(split(lines[4], ',')[12]) > 0);  // CartPole episodes finished within 2048 steps
}
