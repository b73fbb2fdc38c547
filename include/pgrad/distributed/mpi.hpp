#pragma once
// pgrad::distributed: data-parallel training over MPI (link pgrad::mpi). The only header of pgrad
// that includes <mpi.h>.
#include <mpi.h>

#include <chrono>
#include <climits>
#include <string>
#include <vector>

#include <pgrad/algorithms/data_parallel.hpp>
#include <pgrad/core/error.hpp>

namespace pgrad::distributed {

namespace detail {
inline void check_mpi(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}
}  // namespace detail

/// MPI for the lifetime of a program: MPI_Init_thread (MPI_THREAD_FUNNELED: pgrad's worker
/// threads never call MPI, only the thread that runs learn()) in the constructor, MPI_Finalize in
/// the destructor. One per program, constructed first thing in main().
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv) {
    int provided = 0;
    detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    PGRAD_REQUIRE(provided >= MPI_THREAD_FUNNELED, "MPI provides thread level ", provided,
                  " below MPI_THREAD_FUNNELED");
    // Errors come back as codes (and become pgrad::Error) instead of aborting the job.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  }
  ~MpiSession() { MPI_Finalize(); }
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
};

/// algo::Communicator over an MPI communicator (MPI_COMM_WORLD by default): all_gather is
/// MPI_Allgather, all_gather_bytes MPI_Allgather of the sizes then MPI_Allgatherv, and
/// broadcast_bytes MPI_Bcast of the size then of the bytes. Results arrive in rank order on
/// every rank, so the sums the training loop makes of them have a fixed order.
class MpiCommunicator final : public algo::Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm = MPI_COMM_WORLD) : comm_(comm) {
    detail::check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    detail::check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_gather(const double* mine, Index count, double* all) override {
    const Timer timer(seconds_);
    detail::check_mpi(MPI_Allgather(mine, to_int(count), MPI_DOUBLE, all, to_int(count), MPI_DOUBLE, comm_),
                      "MPI_Allgather");
  }

  std::vector<std::string> all_gather_bytes(const std::string& mine) override {
    const Timer timer(seconds_);
    const int length = to_int(static_cast<Index>(mine.size()));
    lengths_.resize(static_cast<std::size_t>(size_));
    offsets_.resize(static_cast<std::size_t>(size_));
    detail::check_mpi(MPI_Allgather(&length, 1, MPI_INT, lengths_.data(), 1, MPI_INT, comm_), "MPI_Allgather");
    long long total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets_[static_cast<std::size_t>(r)] = to_int(static_cast<Index>(total));
      total += lengths_[static_cast<std::size_t>(r)];
    }
    std::string all(static_cast<std::size_t>(to_int(static_cast<Index>(total))), '\0');
    detail::check_mpi(MPI_Allgatherv(mine.data(), length, MPI_CHAR, all.data(), lengths_.data(), offsets_.data(),
                                     MPI_CHAR, comm_),
                      "MPI_Allgatherv");
    std::vector<std::string> out;
    for (int r = 0; r < size_; ++r)
      out.push_back(all.substr(static_cast<std::size_t>(offsets_[static_cast<std::size_t>(r)]),
                               static_cast<std::size_t>(lengths_[static_cast<std::size_t>(r)])));
    return out;
  }

  void broadcast_bytes(std::string& bytes, int root) override {
    const Timer timer(seconds_);
    long long length = static_cast<long long>(bytes.size());
    detail::check_mpi(MPI_Bcast(&length, 1, MPI_LONG_LONG, root, comm_), "MPI_Bcast");
    bytes.resize(static_cast<std::size_t>(to_int(static_cast<Index>(length))));
    detail::check_mpi(MPI_Bcast(bytes.data(), static_cast<int>(length), MPI_CHAR, root, comm_), "MPI_Bcast");
  }

  double seconds() const override { return seconds_; }

 private:
  // Adds the time from its construction to its destruction to `total`.
  struct Timer {
    double& total;
    std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
    explicit Timer(double& t) : total(t) {}
    ~Timer() { total += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); }
  };

  // MPI counts are int: a larger message is an error, not a silent truncation.
  static int to_int(Index count) {
    PGRAD_REQUIRE(count >= 0 && count <= INT_MAX, "MPI message of ", count, " elements is above INT_MAX");
    return static_cast<int>(count);
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
  double seconds_ = 0;
  std::vector<int> lengths_, offsets_;
};

}  // namespace pgrad::distributed
