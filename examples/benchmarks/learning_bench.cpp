// learning_bench: a learning result over several seeds. Runs one example program per seed (as
// separate processes, so no two runs share anything), J at a time, each writing its CSV log;
// then prints one row per seed (final deterministic evaluation, training return of the last 100
// episodes, seconds) and their mean ± std, and draws the mean ± std training return against
// steps across seeds (gnuplot, PNG and SVG, when gnuplot is installed).
//   ./build/examples/learning_bench --env walker2d --algo ppo --seeds 1,2,3 --steps 1000000
//                                   [--jobs 1] [--preset NAME] [--threads 1] [--out DIR]
// --env names an example program next to this one (cartpole, pendulum, walker2d), or, when
// there is none of that name, an environment of the `mujoco` example (--env NAME).
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

struct Options {
  std::string env = "walker2d", algo = "ppo", preset, out;
  std::vector<long> seeds = {1, 2, 3};
  long long steps = 1000000;
  int jobs = 1, threads = 1;
};

struct Run {
  long seed = 0;
  pid_t pid = -1;
  int status = -1;
  double evaluation = NAN, training = NAN, seconds = NAN;
  std::vector<std::pair<double, double>> curve;  // (global_step, episodic return) per update
};

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "error: %s\nusage: learning_bench --env NAME --algo ppo|trpo|a2c [--seeds 1,2,3] [--steps N] "
               "[--jobs J] [--preset NAME] [--threads T] [--out DIR]\n",
               problem.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int k = 1; k < argc; ++k) {
    const std::string flag = argv[k];
    if (flag == "--help") usage("help");
    if (k + 1 >= argc) usage(flag + " needs a value");
    const std::string value = argv[++k];
    try {
      if (flag == "--env") o.env = value;
      else if (flag == "--algo") o.algo = value;
      else if (flag == "--preset") o.preset = value;
      else if (flag == "--out") o.out = value;
      else if (flag == "--steps") o.steps = std::stoll(value);
      else if (flag == "--jobs") o.jobs = std::stoi(value);
      else if (flag == "--threads") o.threads = std::stoi(value);
      else if (flag == "--seeds") {
        o.seeds.clear();
        std::stringstream list(value);
        for (std::string seed; std::getline(list, seed, ',');) o.seeds.push_back(std::stol(seed));
      } else {
        usage("unknown option " + flag);
      }
    } catch (const std::logic_error&) {
      usage("bad value '" + value + "' for " + flag);
    }
  }
  if (o.seeds.empty() || o.steps <= 0 || o.jobs < 1 || o.threads < 1) usage("seeds, steps, jobs and threads must be positive");
  if (o.out.empty()) o.out = "learning_bench_" + o.env + "_" + o.algo + (o.preset.empty() ? "" : "_" + o.preset);
  return o;
}

// The program and its arguments for one seed.
std::vector<std::string> command(const Options& o, const fs::path& programs, long seed, const fs::path& csv) {
  std::vector<std::string> args;
  if (fs::exists(programs / o.env)) {
    args = {(programs / o.env).string()};
  } else {
    args = {(programs / "mujoco").string(), "--env", o.env};
  }
  for (const std::string& a : {std::string("--algo"), o.algo, std::string("--seed"), std::to_string(seed),
                               std::string("--steps"), std::to_string(o.steps), std::string("--threads"),
                               std::to_string(o.threads), std::string("--csv"), csv.string()})
    args.push_back(a);
  if (!o.preset.empty()) {
    args.push_back("--preset");
    args.push_back(o.preset);
  }
  return args;
}

pid_t start(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    if (!std::freopen(log.c_str(), "w", stdout) || !std::freopen(log.c_str(), "a", stderr)) _exit(127);
    std::vector<char*> argv;
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

// "result: ... eval_return=X ... seconds=Y ..." from the run's log.
void read_result(const fs::path& log, Run& run) {
  std::ifstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("result:", 0) != 0) continue;
    const auto field = [&](const std::string& name) {
      const auto at = line.find(name + "=");
      return at == std::string::npos ? NAN : std::atof(line.c_str() + at + name.size() + 1);
    };
    run.evaluation = field("eval_return");
    run.seconds = field("seconds");
  }
}

// (global_step, charts/episodic_return) of every row, and the last row's return (the mean of
// the last 100 training episodes).
void read_csv(const fs::path& csv, Run& run) {
  std::ifstream in(csv);
  std::string header;
  std::getline(in, header);
  for (std::string line; std::getline(in, line);) {
    std::stringstream row(line);
    std::string step, episodic;
    std::getline(row, step, ',');
    std::getline(row, episodic, ',');
    run.curve.emplace_back(std::atof(step.c_str()), std::atof(episodic.c_str()));
  }
  if (!run.curve.empty()) run.training = run.curve.back().second;
}

std::pair<double, double> mean_std(const std::vector<double>& values) {
  double sum = 0, squares = 0;
  for (double v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, values.size() > 1 ? std::sqrt(squares / static_cast<double>(values.size() - 1)) : 0.0};
}

// Mean ± std across seeds at each update (the runs share their step grid: same configuration).
void write_curve(const fs::path& dir, const Options& o, const std::vector<Run>& runs) {
  std::size_t rows = runs.front().curve.size();
  for (const Run& r : runs) rows = std::min(rows, r.curve.size());
  std::ofstream data(dir / "curve.dat");
  data << "# global_step mean_return std_return (over " << runs.size() << " seeds)\n";
  for (std::size_t k = 0; k < rows; ++k) {
    std::vector<double> values;
    for (const Run& r : runs) values.push_back(r.curve[k].second);
    const auto [mean, stddev] = mean_std(values);
    data << runs.front().curve[k].first << ' ' << mean << ' ' << stddev << '\n';
  }
  std::ofstream script(dir / "curve.gp");
  const std::string title = o.env + " " + o.algo + (o.preset.empty() ? "" : " (" + o.preset + ")") + ", " +
                            std::to_string(runs.size()) + " seeds";
  for (const char* format : {"png", "svg"}) {
    script << "set terminal " << (std::string(format) == "png" ? "pngcairo size 900,560" : "svg size 900,560") << "\n"
           << "set termoption noenhanced\n"
           << "set output '" << (dir / (std::string("curve.") + format)).string() << "'\n"
           << "set title '" << title << ": training return (mean of the last 100 episodes), mean ± std'\n"
           << "set xlabel 'environment steps'\nset ylabel 'return'\nset key left top\nset grid\nset format x '%.1s%c'\n"
           << "plot '" << (dir / "curve.dat").string() << "' using 1:($2-$3):($2+$3) with filledcurves "
           << "fs transparent solid 0.25 lc rgb '#4477aa' title '± std', '' using 1:2 with lines lw 2 lc rgb "
              "'#4477aa' title 'mean'\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const fs::path programs = fs::canonical("/proc/self/exe").parent_path();
  const fs::path dir = o.out;
  fs::create_directories(dir);
  std::vector<Run> runs;
  for (long seed : o.seeds) {
    Run run;
    run.seed = seed;
    runs.push_back(run);
  }

  // Start up to `jobs` runs; wait for one to end before starting the next.
  std::size_t next = 0, running = 0;
  while (next < runs.size() || running > 0) {
    while (next < runs.size() && running < static_cast<std::size_t>(o.jobs)) {
      Run& run = runs[next++];
      const std::string name = "seed_" + std::to_string(run.seed);
      run.pid = start(command(o, programs, run.seed, dir / (name + ".csv")), dir / (name + ".log"));
      ++running;
    }
    int status = 0;
    const pid_t done = wait(&status);
    if (done < 0) break;
    for (Run& run : runs)
      if (run.pid == done) run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    --running;
  }

  std::vector<double> evaluations, trainings;
  std::printf("| seed | evaluation | training (last 100 episodes) | seconds |\n|---|---|---|---|\n");
  for (Run& run : runs) {
    const std::string name = "seed_" + std::to_string(run.seed);
    read_result(dir / (name + ".log"), run);
    read_csv(dir / (name + ".csv"), run);
    std::printf("| %ld | %.1f | %.1f | %.1f |\n", run.seed, run.evaluation, run.training, run.seconds);
    if (std::isnan(run.evaluation) || run.curve.empty()) {
      std::fprintf(stderr, "error: the run of seed %ld failed (exit %d); see %s\n", run.seed, run.status,
                   (dir / (name + ".log")).c_str());
      return 1;
    }
    evaluations.push_back(run.evaluation);
    trainings.push_back(run.training);
  }
  const auto [eval_mean, eval_std] = mean_std(evaluations);
  const auto [train_mean, train_std] = mean_std(trainings);
  std::printf("| mean ± std | %.1f ± %.1f | %.1f ± %.1f | |\n", eval_mean, eval_std, train_mean, train_std);

  write_curve(dir, o, runs);
  const std::string plot = "gnuplot '" + (dir / "curve.gp").string() + "' 2>/dev/null";
  if (std::system(plot.c_str()) == 0)
    std::printf("plot: %s and %s\n", (dir / "curve.png").c_str(), (dir / "curve.svg").c_str());
  else
    std::printf("plot data: %s (install gnuplot for %s)\n", (dir / "curve.dat").c_str(), (dir / "curve.gp").c_str());
  std::printf("logs and CSVs: %s\n", dir.c_str());
  return 0;
}
