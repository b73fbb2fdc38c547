#pragma once
// TempPath: a temporary file or directory name of the test's own, removed when the test ends.
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

namespace pgrad_test {

/// A path in the temporary directory unique to this process and `name`
/// ("pgrad_test_<name>_<pid>"), so that tests ctest runs at the same time never share a file.
/// Whatever is there (a file, or a directory with its contents), and the "<path>.tmp" an atomic
/// write may leave, is removed when the guard is made and when it goes, whether the test passed,
/// failed or threw.
struct TempPath {
  explicit TempPath(const std::string& name)
      : path((std::filesystem::temp_directory_path() /
              ("pgrad_test_" + name + "_" + std::to_string(::getpid())))
                 .string()) {
    remove();
  }
  ~TempPath() { remove(); }
  TempPath(const TempPath&) = delete;
  TempPath& operator=(const TempPath&) = delete;

  std::string path;

 private:
  void remove() const {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
    std::filesystem::remove_all(path + ".tmp", ignored);
  }
};

}  // namespace pgrad_test
