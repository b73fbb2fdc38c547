#pragma once
// Training logs: a CSV file with CleanRL's metric names and a console progress printer (live bar
// on a terminal, plain lines otherwise).
//
// Both are update callbacks: pass them to learn(), alone or combined with pgrad::all_of
// (training/callbacks.hpp):
//
//   pgrad::ProgressPrinter progress(total_steps, /*every=*/10);
//   ppo.learn(total_steps, pgrad::all_of(pgrad::CsvLogger("run.csv"), progress,
//                                        pgrad::stop_at_return(475.0)));
//   progress.finish();  // ends the progress bar's line before anything else is printed
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <locale>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#if defined(_WIN32)
#include <io.h>
#else
#include <unistd.h>
#endif

#include <pgrad/algorithms/report.hpp>
#include <pgrad/core/error.hpp>

namespace pgrad {

namespace detail {

/// True when `file` is an interactive terminal (isatty on its descriptor).
inline bool is_terminal(std::FILE* file) {
#if defined(_WIN32)
  return _isatty(_fileno(file)) != 0;
#else
  return isatty(fileno(file)) != 0;
#endif
}

/// "0:07", "12:34" or "1:02:03" for a duration in seconds; "?" when unknown (negative, NaN, Inf).
inline std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const long long total = std::llround(seconds);
  const long long hours = total / 3600, minutes = total / 60 % 60, secs = total % 60;
  char text[32];
  if (hours > 0)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", hours, minutes, secs);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", minutes, secs);
  return text;
}

/// Step counts for the progress bar: "950", "226.3k", "1.50M", "2.00G".
inline std::string format_count(double count) {
  char text[32];
  if (count < 1e4)
    std::snprintf(text, sizeof text, "%.0f", count);
  else if (count < 1e6)
    std::snprintf(text, sizeof text, "%.1fk", count / 1e3);
  else if (count < 1e9)
    std::snprintf(text, sizeof text, "%.2fM", count / 1e6);
  else
    std::snprintf(text, sizeof text, "%.2fG", count / 1e9);
  return text;
}

/// Returns with one decimal when |value| >= 10, three below (CartPole 475.3, LineWalk 0.853).
inline int return_digits(double value) { return std::fabs(value) >= 10 ? 1 : 3; }

}  // namespace detail

/// Writes one CSV row per update: a header row first, then every UpdateReport with CleanRL's
/// metric names (global_step, charts/episodic_return, ..., losses/explained_variance) followed by
/// iteration, episodes, seconds and grad_norm. Numbers are written with 10 significant digits in
/// the "C" locale whatever the program's locale. Each row is flushed as soon as it is written,
/// so a crash loses nothing already reported. Open or write failures throw pgrad::Error naming
/// the path. Copies share the same file (it is closed when the last copy goes), so a logger can
/// be passed by value to learn() or all_of().
class CsvLogger {
 public:
  /// The column names, in file order.
  static constexpr const char* columns[] = {
      "global_step",         "charts/episodic_return", "charts/episodic_length", "charts/SPS",
      "charts/learning_rate", "losses/policy_loss",    "losses/value_loss",      "losses/entropy",
      "losses/approx_kl",    "losses/clipfrac",        "losses/explained_variance",
      "iteration",           "episodes",               "seconds",                "grad_norm"};
  static constexpr std::size_t num_columns = sizeof(columns) / sizeof(columns[0]);

  /// Creates (or truncates) the file at `path` and writes the header row.
  explicit CsvLogger(std::string path) : file_(std::make_shared<File>(std::move(path))) {
    std::string header;
    for (std::size_t k = 0; k < num_columns; ++k) {
      if (k > 0) header += ',';
      header += columns[k];
    }
    header += '\n';
    file_->write(header);
  }

  /// Appends one row for `report` and flushes it. Throws pgrad::Error if the write fails.
  void write(const algo::UpdateReport& report) {
    std::ostringstream& row = file_->row;
    row.str(std::string());
    row << report.steps << ',' << report.mean_return << ',' << report.mean_length << ','
        << report.steps_per_second << ',' << report.learning_rate << ',' << report.policy_loss << ','
        << report.value_loss << ',' << report.entropy << ',' << report.approx_kl << ','
        << report.clip_fraction << ',' << report.explained_variance << ',' << report.iteration << ','
        << report.episodes << ',' << report.seconds << ',' << report.grad_norm << '\n';
    file_->write(row.str());
    ++file_->rows;
  }

  /// As an update callback: writes the row and never asks to stop.
  bool operator()(const algo::UpdateReport& report) {
    write(report);
    return true;
  }

  const std::string& path() const { return file_->path; }
  /// Data rows written so far (the header not counted).
  long long rows() const { return file_->rows; }

 private:
  struct File {
    explicit File(std::string file_path) : path(std::move(file_path)) {
      PGRAD_REQUIRE(!path.empty(), "CsvLogger: empty path");
      handle = std::fopen(path.c_str(), "w");
      if (handle == nullptr) {
        const int error = errno;
        detail::fail("CsvLogger: cannot open '", path, "' for writing: ", std::strerror(error));
      }
      row.imbue(std::locale::classic());
      row.precision(10);
    }
    ~File() {
      if (handle != nullptr) std::fclose(handle);
    }
    File(const File&) = delete;
    File& operator=(const File&) = delete;

    void write(const std::string& text) {
      errno = 0;
      const bool written = std::fwrite(text.data(), 1, text.size(), handle) == text.size();
      const bool flushed = std::fflush(handle) == 0;
      if (!written || !flushed) {
        const int error = errno;
        std::clearerr(handle);
        detail::fail("CsvLogger: writing '", path, "' failed: ",
                     error != 0 ? std::strerror(error) : "unknown I/O error");
      }
    }

    std::string path;
    std::FILE* handle = nullptr;
    std::ostringstream row;  // reused for every row
    long long rows = 0;
  };
  std::shared_ptr<File> file_;
};

/// How a ProgressPrinter draws: `automatic` picks `bar` when the output is a terminal and
/// `lines` otherwise (CI logs, pipes, files).
enum class ProgressStyle { automatic, bar, lines };

/// Console progress of a training run of `total_steps` environment steps.
///  - lines: one plain line every `every` updates, and for the last update (steps >= total, or
///    the last one seen when finish() is called):
///      steps=25600/500000 (5.1%) episodes=812 mean_return=45.2 mean_length=45.2 sps=12000
///      policy_loss=... value_loss=... entropy=... approx_kl=... clipfrac=...
///      explained_variance=... elapsed=0:02 eta=0:38          (all on one line)
///  - bar: one line redrawn in place with '\r' (at most every 0.1 s of training time, and at
///    the end): progress bar, percentage, steps, mean return of the last 100 episodes, steps
///    per second and the estimated time left, (total - steps) / SPS. `every` is not used.
/// The line is ended with a newline when the run reaches total_steps, or by finish() (call it
/// before printing anything else when training may stop early). Copies share their state, so a
/// printer can be passed by value to learn() or all_of() and finished through the original.
/// The FILE* is not owned and must outlive the printer.
class ProgressPrinter {
 public:
  explicit ProgressPrinter(long long total_steps, long long every = 1, std::FILE* out = stdout,
                           ProgressStyle style = ProgressStyle::automatic)
      : state_(std::make_shared<State>()) {
    PGRAD_REQUIRE(total_steps > 0, "ProgressPrinter: total_steps must be positive, got ", total_steps);
    PGRAD_REQUIRE(every >= 1, "ProgressPrinter: every must be at least 1, got ", every);
    PGRAD_REQUIRE(out != nullptr, "ProgressPrinter: null output FILE*");
    state_->total = total_steps;
    state_->every = every;
    state_->out = out;
    state_->live = style == ProgressStyle::bar || (style == ProgressStyle::automatic && detail::is_terminal(out));
  }

  /// As an update callback: prints (or redraws) as described above and never asks to stop.
  bool operator()(const algo::UpdateReport& report) {
    State& s = *state_;
    s.last = report;
    s.has_last = true;
    const bool final = report.steps >= s.total;
    if (s.live) {
      if (!s.bar_open || final || report.seconds - s.drawn_at >= 0.1) s.draw_bar(report);
      if (final) s.end_line();
    } else {
      s.last_printed = report.iteration % s.every == 0 || final;
      if (s.last_printed) s.print_line(report);
    }
    return true;
  }

  /// Shows the last report if it is not on screen yet and ends the line. Safe to call twice.
  void finish() {
    State& s = *state_;
    if (!s.has_last) return;
    if (s.live) {
      if (s.bar_open) {
        s.draw_bar(s.last);
        s.end_line();
      }
    } else if (!s.last_printed) {
      s.print_line(s.last);
      s.last_printed = true;
    }
  }

  /// True when drawing the live bar, false when printing plain lines.
  bool live() const { return state_->live; }

 private:
  struct State {
    ~State() { end_line(); }  // leaves the terminal on a fresh line (e.g. after an exception)

    void draw_bar(const algo::UpdateReport& r) {
      constexpr int width = 16;
      const double fraction = std::min(1.0, static_cast<double>(r.steps) / static_cast<double>(total));
      const int filled = static_cast<int>(std::floor(fraction * width));
      char bar[width + 1];
      for (int k = 0; k < width; ++k) bar[k] = k < filled ? '#' : '.';
      bar[width] = '\0';
      char mean_return[32] = "-";
      if (r.episodes > 0)
        std::snprintf(mean_return, sizeof mean_return, "%.*f", detail::return_digits(r.mean_return), r.mean_return);
      char line[256];
      const int length = std::snprintf(
          line, sizeof line, "[%s] %5.1f%% %s/%s  return %s  sps %s  eta %s", bar, 100.0 * fraction,
          detail::format_count(static_cast<double>(r.steps)).c_str(),
          detail::format_count(static_cast<double>(total)).c_str(), mean_return,
          detail::format_count(r.steps_per_second).c_str(), eta(r).c_str());
      // Pad with spaces over what is left of a longer previous line.
      std::fprintf(out, "\r%s%*s", line, std::max(0, drawn_length - length), "");
      std::fflush(out);
      drawn_length = length;
      drawn_at = r.seconds;
      bar_open = true;
    }

    void print_line(const algo::UpdateReport& r) {
      std::fprintf(out,
                   "steps=%lld/%lld (%.1f%%) episodes=%lld mean_return=%.*f mean_length=%.1f sps=%.0f "
                   "policy_loss=%.4f value_loss=%.4f entropy=%.3f approx_kl=%.5f clipfrac=%.3f "
                   "explained_variance=%.3f elapsed=%s eta=%s\n",
                   r.steps, total, 100.0 * std::min(1.0, static_cast<double>(r.steps) / static_cast<double>(total)),
                   r.episodes, detail::return_digits(r.mean_return), r.mean_return, r.mean_length,
                   r.steps_per_second, r.policy_loss, r.value_loss, r.entropy, r.approx_kl, r.clip_fraction,
                   r.explained_variance, detail::format_duration(r.seconds).c_str(), eta(r).c_str());
      std::fflush(out);
    }

    void end_line() {
      if (!bar_open) return;
      std::fputc('\n', out);
      std::fflush(out);
      bar_open = false;
      drawn_length = 0;
    }

    std::string eta(const algo::UpdateReport& r) const {
      if (r.steps >= total) return detail::format_duration(0);
      if (!(r.steps_per_second > 0)) return "?";
      return detail::format_duration(static_cast<double>(total - r.steps) / r.steps_per_second);
    }

    long long total = 1, every = 1;
    std::FILE* out = nullptr;
    bool live = false;
    algo::UpdateReport last;
    bool has_last = false, last_printed = true, bar_open = false;
    double drawn_at = 0;
    int drawn_length = 0;
  };
  std::shared_ptr<State> state_;
};

}  // namespace pgrad
