// The container of one simulation run: the scheduler (virtual time), the links and the nodes,
// and the scenario seed from which every random stream is derived (sim/random.h). Nodes are
// destroyed before links, and both before the scheduler, so nothing dangles at teardown.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "sim/link.h"
#include "sim/node.h"
#include "sim/scheduler.h"

namespace mipv6::sim {

class Simulation {
 public:
  explicit Simulation(std::uint64_t seed) : seed_(seed) {}
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  std::uint64_t seed() const { return seed_; }
  Scheduler& scheduler() { return scheduler_; }
  TimePoint now() const { return scheduler_.now(); }

  // A link whose loss stream is derived from the seed and "link/<name>".
  Link& add_link(std::string name, const LinkParams& params);
  Link* find_link(std::string_view name) const;
  const std::vector<std::unique_ptr<Link>>& links() const { return links_; }

  // Constructs a node as N(scheduler, args...).
  template <class N, class... Args>
  N& add_node(Args&&... args) {
    auto node = std::make_unique<N>(scheduler_, std::forward<Args>(args)...);
    N& ref = *node;
    nodes_.push_back(std::move(node));
    return ref;
  }
  const std::vector<std::unique_ptr<Node>>& nodes() const { return nodes_; }

  // The next synthetic MAC (02:00:00:00:00:01, ...): same order of calls, same addresses.
  MacAddress next_mac() { return MacAddress::synthetic(++mac_counter_); }
  // A random stream for `name` (e.g. "node/mn1"), independent of every other name.
  core::SplitMix64 stream(std::string_view name) const;

 private:
  std::uint64_t seed_;
  Scheduler scheduler_;  // declared first: destroyed last
  std::vector<std::unique_ptr<Link>> links_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::uint32_t mac_counter_ = 0;
};

}  // namespace mipv6::sim
