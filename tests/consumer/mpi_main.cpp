// A user's data-parallel program: built (not run) by the packaging tests where MPI is installed.
#include <pgrad/distributed/mpi.hpp>
#include <pgrad/pgrad.hpp>

int main(int argc, char** argv) {
  pgrad::distributed::MpiSession mpi(argc, argv);
  pgrad::distributed::MpiCommunicator world;
  pgrad::algo::PpoConfig config;
  config.data_shards = world.size();
  pgrad::algo::Ppo<pgrad::envs::CartPole<float>> ppo(pgrad::envs::CartPole<float>{}, config, 1, &world);
  return ppo.iteration() == 0 ? 0 : 1;
}
