#include "sim/simulation.h"

#include "sim/random.h"

namespace mipv6::sim {

Link& Simulation::add_link(std::string name, const LinkParams& params) {
  std::uint64_t seed = derive_seed(seed_, "link/" + name);
  links_.push_back(std::make_unique<Link>(scheduler_, std::move(name), params, seed));
  return *links_.back();
}

Link* Simulation::find_link(std::string_view name) const {
  for (const auto& link : links_) {
    if (link->name() == name) return link.get();
  }
  return nullptr;
}

core::SplitMix64 Simulation::stream(std::string_view name) const {
  return make_stream(seed_, name);
}

}  // namespace mipv6::sim
