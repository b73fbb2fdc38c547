// The file layer (core/file_io.hpp) and the checkpoint framing on it: atomic replacement that
// keeps the old file on every failure, concurrent writers (threads and processes) that never
// produce a mixed file, and a reader that refuses directories, FIFOs, devices and large files.
#include <catch2/catch.hpp>

#include "error_message.hpp"

#include <pgrad/core/file_io.hpp>
#include <pgrad/training/checkpoint.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <string>
#include <thread>
#include <vector>

using Catch::Matchers::Contains;

namespace {

/// A fresh directory under /tmp, removed with its files at scope exit.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& name) {
    path = "/tmp/pgrad_test_file_io_" + std::to_string(::getpid()) + "_" + name;
    clear();
    REQUIRE(::mkdir(path.c_str(), 0755) == 0);
  }
  ~TempDir() {
    ::chmod(path.c_str(), 0755);
    clear();
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
  /// The names in the directory (without "." and "..").
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(path.c_str())) {
      while (const dirent* entry = ::readdir(dir))
        if (std::strcmp(entry->d_name, ".") != 0 && std::strcmp(entry->d_name, "..") != 0)
          names.emplace_back(entry->d_name);
      ::closedir(dir);
    }
    return names;
  }

 private:
  void clear() const {
    for (const std::string& name : entries()) std::remove(file(name).c_str());
    ::rmdir(path.c_str());
  }
};

// The test's own file access (C stdio), independent of the code under test.
std::string read_bytes(const std::string& path) {
  std::string bytes;
  if (std::FILE* in = std::fopen(path.c_str(), "rb")) {
    char buffer[4096];
    for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, in)) > 0;) bytes.append(buffer, n);
    std::fclose(in);
  }
  return bytes;
}
void write_bytes(const std::string& path, const std::string& bytes) {
  std::FILE* out = std::fopen(path.c_str(), "wb");
  REQUIRE(out != nullptr);
  REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size());
  REQUIRE(std::fclose(out) == 0);
}

/// Runs `body` in a child process; returns its exit code (128 + signal when it was killed).
/// The child ends with _exit so that it runs no test-framework teardown.
int in_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    int code = 99;
    try {
      code = body();
    } catch (...) {
      code = 98;
    }
    ::_exit(code);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// Sets a resource limit's soft value for the scope (restored at exit).
struct SoftLimit {
  int resource;
  rlimit saved{};
  SoftLimit(int which, rlim_t value) : resource(which) {
    REQUIRE(::getrlimit(resource, &saved) == 0);
    rlimit lowered = saved;
    lowered.rlim_cur = value;
    REQUIRE(::setrlimit(resource, &lowered) == 0);
  }
  ~SoftLimit() { ::setrlimit(resource, &saved); }
};

}  // namespace

TEST_CASE("write_file_atomically writes, replaces and leaves no temporary file", "[file_io]") {
  TempDir dir("basic");
  const std::string path = dir.file("data.bin");
  std::string bytes("first\0with a zero byte", 22);
  pgrad::write_file_atomically(path, bytes);
  CHECK(read_bytes(path) == bytes);
  pgrad::write_file_atomically(path, "second");
  CHECK(read_bytes(path) == "second");
  pgrad::write_file_atomically(path, "");
  CHECK(read_bytes(path).empty());
  CHECK(dir.entries() == std::vector<std::string>{"data.bin"});

  // A relative path (no directory part) lands in the working directory.
  char cwd[4096];
  REQUIRE(::getcwd(cwd, sizeof cwd) != nullptr);
  REQUIRE(::chdir(dir.path.c_str()) == 0);
  pgrad::write_file_atomically("relative.txt", "here");
  REQUIRE(::chdir(cwd) == 0);
  CHECK(read_bytes(dir.file("relative.txt")) == "here");

  CHECK_THROWS_WITH(pgrad::write_file_atomically(dir.path + "/", "x", "ctx"),
                    Contains("ctx: cannot create '" + dir.path + "/': it does not name a file"));
}

TEST_CASE("A failed atomic write leaves the old file byte-identical", "[file_io]") {
  TempDir dir("failures");
  const std::string path = dir.file("target.bin");
  const std::string old_bytes = "the old contents\n";
  write_bytes(path, old_bytes);
  const std::string big(1 << 20, 'n');

  SECTION("the temporary file cannot be created: no file descriptor left") {
    // The directory takes the lowest free descriptor; with the limit just above it, the
    // temporary's open fails with EMFILE (whatever the user's privileges).
    const int probe = ::open("/dev/null", O_RDONLY);
    REQUIRE(probe >= 0);
    ::close(probe);
    // The error is only caught here; its message is read once the limit is lifted (the
    // sanitizers' runtime needs descriptors of its own to check the call).
    std::exception_ptr error;
    {
      SoftLimit limit(RLIMIT_NOFILE, static_cast<rlim_t>(probe) + 1);
      try {
        pgrad::write_file_atomically(path, big, "ctx");
      } catch (...) {
        error = std::current_exception();
      }
    }
    const std::string message = error_of([&] {
      if (error) std::rethrow_exception(error);
    });
    CHECK_THAT(message, Contains("ctx: cannot create '" + path + "'") && Contains("cannot open a temporary file") &&
                            Contains(std::strerror(EMFILE)) && Contains("left unchanged"));
  }
  SECTION("the temporary file cannot be created: the directory is not a directory") {
    const std::string message = error_of([&] { pgrad::write_file_atomically(path + "/inner", big, "ctx"); });
    CHECK_THAT(message, Contains("cannot create '" + path + "/inner'") && Contains(std::strerror(ENOTDIR)));
  }
  SECTION("the directory does not exist") {
    const std::string missing = dir.file("missing/target.bin");
    const std::string message = error_of([&] { pgrad::write_file_atomically(missing, big, "ctx"); });
    CHECK_THAT(message, Contains("cannot create '" + missing + "'") && Contains(std::strerror(ENOENT)));
  }
  SECTION("the directory is not writable") {
    REQUIRE(::chmod(dir.path.c_str(), 0555) == 0);
    // Root ignores the mode: run the writer as an unprivileged user in a child process then.
    const int code = in_child([&] {
      if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 2;
      const std::string message = error_of([&] { pgrad::write_file_atomically(path, big, "ctx"); });
      const bool named = message.find("cannot create '" + path + "'") != std::string::npos &&
                         message.find(std::strerror(EACCES)) != std::string::npos;
      return named ? 0 : 1;
    });
    if (code == 2) WARN("cannot drop root privileges here: unwritable-directory case not run");
    CHECK((code == 0 || code == 2));
  }
  SECTION("writing fails midway (file size limit)") {
    const int code = in_child([&] {
      ::signal(SIGXFSZ, SIG_IGN);
      rlimit small{};
      ::getrlimit(RLIMIT_FSIZE, &small);
      small.rlim_cur = 4096;
      if (::setrlimit(RLIMIT_FSIZE, &small) != 0) return 2;
      const std::string message = error_of([&] { pgrad::write_file_atomically(path, big, "ctx"); });
      return message.find("ctx: writing '") != std::string::npos &&
                     message.find(std::strerror(EFBIG)) != std::string::npos &&
                     message.find("'" + path + "' left unchanged") != std::string::npos
                 ? 0
                 : 1;
    });
    CHECK(code == 0);
  }
  SECTION("the target is a directory (rename fails)") {
    const std::string target = dir.file("subdir");
    REQUIRE(::mkdir(target.c_str(), 0755) == 0);
    const std::string message = error_of([&] { pgrad::write_file_atomically(target, big, "ctx"); });
    CHECK_THAT(message, Contains("ctx: renaming '") && Contains("to '" + target + "' failed"));
    ::rmdir(target.c_str());
  }
  CHECK(read_bytes(path) == old_bytes);
  CHECK(dir.entries() == std::vector<std::string>{"target.bin"});  // no temporary left behind
}

namespace {
/// Contents unique to writer `w` and round `k`: a header naming both, then filler of a length
/// that differs per writer, so that a mixed or truncated file shows.
std::string contents_of(int w, int k) {
  const std::string head = "writer " + std::to_string(w) + " round " + std::to_string(k) + "\n";
  return head + std::string(static_cast<std::size_t>(20000 + 7919 * w), static_cast<char>('a' + w));
}
/// True when `bytes` is exactly contents_of(w, k) for some writer w < writers and round k.
bool is_whole(const std::string& bytes, int writers) {
  int w = -1, k = -1;
  if (std::sscanf(bytes.c_str(), "writer %d round %d", &w, &k) != 2 || w < 0 || w >= writers) return false;
  return bytes == contents_of(w, k);
}
}  // namespace

TEST_CASE("Concurrent atomic writers to one path never produce a mixed file", "[file_io]") {
  TempDir dir("concurrent");
  const std::string path = dir.file("shared.bin");
  constexpr int rounds = 40;

  SECTION("threads of one process") {
    constexpr int writers = 3;
    pgrad::write_file_atomically(path, contents_of(0, 0));
    std::atomic<bool> done{false};
    std::atomic<int> failures{0}, mixed{0}, reads{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back([&, w] {
        for (int k = 0; k < rounds; ++k) try {
            pgrad::write_file_atomically(path, contents_of(w, k));
          } catch (const pgrad::Error&) {
            ++failures;
          }
      });
    std::thread reader([&] {
      while (!done) {
        try {
          if (!is_whole(pgrad::read_file(path, 1 << 20), writers)) ++mixed;
        } catch (const pgrad::Error&) {
          ++mixed;  // the path never lacks a whole file
        }
        ++reads;
      }
    });
    for (auto& thread : threads) thread.join();
    done = true;
    reader.join();
    CHECK(failures == 0);
    CHECK(mixed == 0);
    CHECK(reads > 0);
    CHECK(is_whole(read_bytes(path), writers));
  }
  SECTION("two processes") {
    pgrad::write_file_atomically(path, contents_of(0, 0));
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      int bad = 0;
      for (int k = 0; k < rounds; ++k) try {
          pgrad::write_file_atomically(path, contents_of(1, k));
        } catch (...) {
          ++bad;
        }
      ::_exit(bad == 0 ? 0 : 1);
    }
    int failures = 0, mixed = 0;
    for (int k = 0; k < rounds; ++k) {
      try {
        pgrad::write_file_atomically(path, contents_of(0, k));
      } catch (const pgrad::Error&) {
        ++failures;
      }
      if (!is_whole(pgrad::read_file(path, 1 << 20), 2)) ++mixed;
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(failures == 0);
    CHECK(mixed == 0);
    CHECK(is_whole(read_bytes(path), 2));
  }
  CHECK(dir.entries() == std::vector<std::string>{"shared.bin"});
}

TEST_CASE("read_file reads regular files up to a limit and refuses everything else", "[file_io]") {
  TempDir dir("read");
  const std::string path = dir.file("data.bin");
  const std::string bytes(1000, 'x');
  write_bytes(path, bytes);
  CHECK(pgrad::read_file(path, 1000) == bytes);
  CHECK(pgrad::read_file(path, 5000) == bytes);
  write_bytes(dir.file("empty"), "");
  CHECK(pgrad::read_file(dir.file("empty"), 0).empty());

  CHECK_THROWS_WITH(pgrad::read_file(path, 999, "ctx"),
                    Contains("ctx '" + path + "': the file is larger than the limit of 999 bytes (1000 bytes)"));
  CHECK_THROWS_WITH(pgrad::read_file(dir.path, 1000, "ctx"),
                    Contains("ctx '" + dir.path + "': is a directory, not a regular file"));
  CHECK_THROWS_WITH(pgrad::read_file("/dev/null", 1000, "ctx"),
                    Contains("ctx '/dev/null': is a character device, not a regular file"));
  CHECK_THROWS_WITH(pgrad::read_file(dir.file("missing"), 1000, "ctx"),
                    Contains("ctx '" + dir.file("missing") + "': cannot open the file: ") &&
                        Contains(std::strerror(ENOENT)));

  // A FIFO without a writer: refused at once, never waited on (the child would be killed by
  // the alarm if the open or the read blocked).
  const std::string fifo = dir.file("fifo");
  REQUIRE(::mkfifo(fifo.c_str(), 0644) == 0);
  const int code = in_child([&] {
    ::alarm(10);
    const std::string message = error_of([&] { pgrad::read_file(fifo, 1000, "ctx"); });
    return message.find("ctx '" + fifo + "': is a FIFO (named pipe), not a regular file") != std::string::npos ? 0 : 1;
  });
  CHECK(code == 0);
}

TEST_CASE("Checkpoint framing round-trips and refuses what is not a checkpoint file", "[file_io]") {
  TempDir dir("checkpoint");
  const std::string path = dir.file("run.ckpt");
  pgrad::Writer writer;
  writer.section("payload");
  writer.u64(42);
  pgrad::write_checkpoint_file(path, writer);
  const std::string file = read_bytes(path);
  CHECK(file == pgrad::checkpoint_file_bytes(writer.bytes()));
  CHECK(file.size() == 8 + 4 + 8 + writer.bytes().size() + 8);
  CHECK(file.substr(0, 8) == "PGRADCKP");

  pgrad::Reader reader = pgrad::read_checkpoint_file(path);
  reader.section("payload");
  CHECK(reader.u64() == 42);
  reader.finish();
  CHECK(reader.source() == path);

  CHECK_THROWS_WITH(pgrad::read_checkpoint_file(path, file.size() - 1), Contains("larger than the limit"));
  CHECK_THROWS_WITH(pgrad::read_checkpoint_file(dir.path), Contains("checkpoint '" + dir.path + "': is a directory"));
  CHECK_THROWS_WITH(pgrad::checkpoint_payload(file.substr(0, file.size() - 1), "bytes"),
                    Contains("checkpoint 'bytes': truncated"));
  CHECK_THROWS_WITH(pgrad::write_checkpoint_file(dir.file("missing/run.ckpt"), writer),
                    Contains("checkpoint: cannot create"));
}
