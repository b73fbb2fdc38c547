#pragma once
// pgrad::write_file_atomically / pgrad::read_file: the library's file layer (POSIX). Checkpoints
// and exported C headers go through it; nothing else in pgrad touches files.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <pgrad/core/error.hpp>

namespace pgrad {

namespace detail {

/// Closes a file descriptor at scope exit (when it is still open).
struct FileDescriptor {
  int fd = -1;
  FileDescriptor() = default;
  explicit FileDescriptor(int descriptor) : fd(descriptor) {}
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
  /// close(2) now; returns its errno (0 on success). EINTR counts as closed (Linux, POSIX 2024).
  int close_now() {
    const int result = ::close(fd);
    fd = -1;
    return result == 0 || errno == EINTR ? 0 : errno;
  }
};

/// open(2) retried on EINTR.
inline int open_retrying(int dir_fd, const char* path, int flags, mode_t mode = 0) {
  for (;;) {
    const int fd = ::openat(dir_fd, path, flags, mode);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

/// A different number on every call in this process (with the pid: unique temporary names).
inline std::uint64_t next_temporary_number() {
  static std::atomic<std::uint64_t> counter{0};
  return counter.fetch_add(1, std::memory_order_relaxed);
}

/// What a stat mode is, for "is not a regular file" messages.
inline const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO (named pipe)";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "a special file";
}

}  // namespace detail

/// Replaces the file at `path` by `contents` so that, whatever happens, `path` holds either its
/// old contents or all of the new ones, and the new ones survive a crash once this returns:
///
///   1. opens the directory of `path` (failure: nothing was touched);
///   2. creates a temporary file next to `path` with a name unique to this process and call
///      ("<name>.<pid>.<n>.tmp", O_CREAT | O_EXCL), so concurrent writers never share one;
///   3. writes every byte (retrying on EINTR and short writes), fsync(2)s and closes it;
///   4. renames it over `path` (atomic within a file system) and fsync(2)s the directory.
///
/// Any failure in steps 1-4 removes the temporary file, leaves `path` as it was and throws a
/// pgrad::Error starting with `context` and naming the path and the system's reason (strerror).
/// If only the final directory fsync fails, `path` already holds the new contents and the error
/// says so. The file is created with mode 0644 (less the umask); a symbolic link at `path` is
/// replaced by the file, not followed. Cost: one fsync of the file and one of the directory.
inline void write_file_atomically(const std::string& path, std::string_view contents,
                                  std::string_view context = "write_file_atomically") {
  const std::size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  PGRAD_REQUIRE(!name.empty() && name != "." && name != "..", context, ": cannot create '", path,
                "': it does not name a file");

  detail::FileDescriptor directory(detail::open_retrying(AT_FDCWD, dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.fd < 0)
    detail::fail(context, ": cannot create '", path, "': cannot open its directory '", dir,
                 "': ", std::strerror(errno));

  std::string temporary;
  detail::FileDescriptor file;
  for (int attempt = 0; attempt < 100 && file.fd < 0; ++attempt) {
    // A stale file of a crashed process with the same pid is skipped (EEXIST), never reused.
    temporary = name + "." + std::to_string(::getpid()) + "." + std::to_string(detail::next_temporary_number()) +
                ".tmp";
    file.fd = detail::open_retrying(directory.fd, temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (file.fd < 0 && errno != EEXIST) break;
  }
  if (file.fd < 0)
    detail::fail(context, ": cannot create '", path, "': cannot open a temporary file '", dir, "/", temporary,
                 "' for writing: ", std::strerror(errno), " ('", path, "' left unchanged)");

  // From here on a failure removes the temporary file before throwing.
  const auto abandon = [&](const char* what, int error) {
    if (file.fd >= 0) file.close_now();
    ::unlinkat(directory.fd, temporary.c_str(), 0);
    detail::fail(context, ": ", what, " '", dir, "/", temporary, "' failed: ", std::strerror(error), " ('", path,
                 "' left unchanged)");
  };
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(file.fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) abandon("writing", n < 0 ? errno : EIO);
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(file.fd) != 0) abandon("fsync of", errno);
  if (const int error = file.close_now(); error != 0) abandon("closing", error);
  if (::renameat(directory.fd, temporary.c_str(), directory.fd, name.c_str()) != 0) {
    const int error = errno;
    ::unlinkat(directory.fd, temporary.c_str(), 0);
    detail::fail(context, ": renaming '", dir, "/", temporary, "' to '", path, "' failed: ", std::strerror(error),
                 " ('", path, "' left unchanged)");
  }
  // EINVAL: the file system cannot sync directories (nothing more to do there).
  if (::fsync(directory.fd) != 0 && errno != EINVAL)
    detail::fail(context, ": '", path, "' holds the new contents, but the fsync of its directory '", dir,
                 "' failed: ", std::strerror(errno), " (the change may not survive a crash)");
}

/// The whole contents of the regular file at `path`, at most `max_size` bytes. Refuses, with a
/// pgrad::Error starting with `context` and naming the path: a file that cannot be opened
/// ("cannot open the file: <reason>"), anything but a regular file (a directory, a FIFO, a
/// device, a socket; a FIFO without a writer is opened with O_NONBLOCK and refused at once,
/// never waited on), a file larger than `max_size` (checked before reading and again while
/// reading, should it grow), and a read error. Cost: one read pass, one allocation of the size.
inline std::string read_file(const std::string& path, std::uint64_t max_size, std::string_view context = "read_file") {
  detail::FileDescriptor file(detail::open_retrying(AT_FDCWD, path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (file.fd < 0) detail::fail(context, " '", path, "': cannot open the file: ", std::strerror(errno));
  struct stat info {};
  if (::fstat(file.fd, &info) != 0)
    detail::fail(context, " '", path, "': cannot stat the file: ", std::strerror(errno));
  PGRAD_REQUIRE(S_ISREG(info.st_mode), context, " '", path, "': is ", detail::file_kind(info.st_mode),
                ", not a regular file");
  const auto too_large = [&](std::uint64_t size) {
    detail::fail(context, " '", path, "': the file is larger than the limit of ", max_size, " bytes (",
                 size, " bytes", size == static_cast<std::uint64_t>(info.st_size) ? "" : " read so far", ")");
  };
  const std::uint64_t size = static_cast<std::uint64_t>(info.st_size);
  if (size > max_size) too_large(size);

  // One byte more than announced, to see the end of the file (or that it grew); reading stops
  // one byte past the limit.
  const std::uint64_t cap = std::min<std::uint64_t>(max_size, SIZE_MAX - 1) + 1;
  std::string data(static_cast<std::size_t>(size) + 1, '\0');
  std::size_t done = 0;
  for (;;) {
    if (done == data.size()) {
      if (done > max_size) too_large(done);
      data.resize(static_cast<std::size_t>(std::min<std::uint64_t>(2 * std::uint64_t(done) + 4096, cap)));
    }
    const ssize_t n = ::read(file.fd, &data[done], data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) detail::fail(context, " '", path, "': read error: ", std::strerror(errno));
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  if (done > max_size) too_large(done);
  data.resize(done);
  return data;
}

}  // namespace pgrad
