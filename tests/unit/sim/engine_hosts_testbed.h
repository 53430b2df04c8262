// A small hand-made topology with the real engines, for the failure, traffic and two-radio tests
// of the engine hosts (home_agent_node, correspondent_host, mobile_host):
//
//        home (2001:db8:1::/64)      a (2001:db8:a::/64)      b (2001:db8:b::/64)
//              |                          |                        |
//             HA                        AR-A                     AR-B
//              |__________________________|________________________|__ backbone
//                                         |                           (2001:db8:ff::/64)
//                                       core
//                                         |
//                                    cn (2001:db8:c::/64) -- CN
//
// Access links 1 ms, backbone and cn links 5 ms, no loss. RFC 6275 §7.5's fast RAs (30-70 ms,
// Advertisement Interval option), optimistic DAD (RFC 4429) for care-of addresses, link-layer
// hints, a 100 ms probe of the previous router (§11.5.1). The core router also routes the
// renumbering prefix 2001:db8:2::/64 to the home agent. The mobile node starts on `start_link`
// with radio 0; radio 1 (when `radios` is 2) starts detached.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "sim/correspondent_host.h"
#include "sim/home_agent_node.h"
#include "sim/mobile_host.h"
#include "sim/random.h"
#include "sim/router.h"
#include "sim/simulation.h"
#include "sim/slaac.h"
#include "sim_test_util.h"

namespace mipv6::sim::testing {

struct TestbedConfig {
  std::uint64_t seed = 11;
  std::string start_link = "home";
  int radios = 1;
  bool route_optimization = true;
  std::size_t max_bindings = 1024;
  core::Duration probe_timeout = std::chrono::milliseconds(100);
  bool log = true;  // the mobile nodes' and the home agent's logs
};

class Testbed {
 public:
  explicit Testbed(TestbedConfig config = {}) : config_(std::move(config)), sim_(config_.seed) {
    for (const char* name : {"home", "a", "b", "backbone", "cn"}) {
      LinkParams params;
      const std::string n = name;
      params.delay = (n == "backbone" || n == "cn") ? std::chrono::milliseconds(5)
                                                    : std::chrono::milliseconds(1);
      sim_.add_link(name, params);
    }
    build_routers();
    build_correspondent();
    build_mobile();
  }

  Simulation& sim() { return sim_; }
  Scheduler& scheduler() { return sim_.scheduler(); }
  HomeAgentNode& ha() { return *ha_; }
  MobileHost& mn() { return *mn_; }
  CorrespondentHost& cn() { return *cn_; }
  Interface& radio(int i) { return *radios_.at(static_cast<std::size_t>(i)); }
  Link& link(const std::string& name) { return *sim_.find_link(name); }
  const wire::Ipv6Address& home_address() const { return home_address_; }
  const wire::Ipv6Address& cn_address() const { return cn_address_; }
  const wire::Ipv6Address& ha_address() const { return ha_address_; }

  // At `at`, radio `radio` attaches to `link` (leaving its current link first).
  void attach_at(TimePoint when, const std::string& name, int r = 0) {
    scheduler().schedule(when, [this, name, r] { link(name).attach(radio(r)); });
  }
  void detach_at(TimePoint when, int r = 0) {
    scheduler().schedule(when, [this, r] {
      if (Link* l = radio(r).link()) l->detach(radio(r));
    });
  }
  void run_until(TimePoint when) { scheduler().run_until(when); }

 private:
  static wire::Ipv6Address address(const char* text) { return *wire::Ipv6Address::parse(text); }
  std::uint64_t seed(std::string_view name) const { return derive_seed(sim_.seed(), name); }

  Interface& router_interface(Router& router, const char* link_name, const char* link_local,
                              const char* global) {
    Link& l = link(link_name);
    Interface& iface = router.add_interface(sim_.next_mac(), router.name() + "-" + link_name);
    if (link_local != nullptr) iface.add_address(address(link_local));
    iface.add_address(address(global));
    l.attach(iface);
    return iface;
  }

  // RFC 6275 §7.5: fast RAs with the Advertisement Interval option (§7.3).
  static RaConfig ra_config(const char* prefix, bool home_agent) {
    RaConfig ra;
    ra.prefixes = {RaPrefix{address(prefix), 64, true, true, home_agent}};
    ra.home_agent = home_agent;
    ra.min_interval = std::chrono::milliseconds(30);
    ra.max_interval = std::chrono::milliseconds(70);
    ra.advertisement_interval_option = true;
    return ra;
  }

  void build_routers() {
    ha_address_ = address("2001:db8:1::1");
    ha_ = &sim_.add_node<HomeAgentNode>("ha", seed("node/ha"));
    Interface& home = router_interface(*ha_, "home", "fe80::1", "2001:db8:1::1");
    Interface& up = router_interface(*ha_, "backbone", nullptr, "2001:db8:ff::1");
    ha_->add_connected_routes();
    ha_->add_route(Route{address("::"), 0, &up, address("2001:db8:ff::ff")});
    ha_->advertise(home, ra_config("2001:db8:1::", true), seed("ra/home"));
    core::HomeAgentConfig ha;
    ha.home_ifindex = home.ifindex();
    ha.addresses = {ha_address_};
    ha.prefixes = {core::HomePrefix{address("2001:db8:1::"), 64, std::nullopt, std::nullopt}};
    ha_->set_max_bindings(config_.max_bindings);
    ha_->set_log_enabled(config_.log);
    ha_->start(std::move(ha));

    const auto access = [&](const char* name, const char* l, const char* ll, const char* global,
                            const char* uplink, const char* prefix) {
      Router& r = sim_.add_node<Router>(name);
      Interface& down = router_interface(r, l, ll, global);
      Interface& u = router_interface(r, "backbone", nullptr, uplink);
      r.add_connected_routes();
      r.add_route(Route{address("::"), 0, &u, address("2001:db8:ff::ff")});
      r.advertise(down, ra_config(prefix, false), seed(std::string("ra/") + l));
    };
    access("ar-a", "a", "fe80::a", "2001:db8:a::1", "2001:db8:ff::a", "2001:db8:a::");
    access("ar-b", "b", "fe80::b", "2001:db8:b::1", "2001:db8:ff::b", "2001:db8:b::");

    Router& core = sim_.add_node<Router>("core");
    Interface& core_up = router_interface(core, "backbone", nullptr, "2001:db8:ff::ff");
    Interface& core_cn = router_interface(core, "cn", "fe80::c", "2001:db8:c::1");
    core.add_connected_routes();
    for (const auto& [prefix, via] :
         {std::pair{"2001:db8:1::", "2001:db8:ff::1"}, std::pair{"2001:db8:2::", "2001:db8:ff::1"},
          std::pair{"2001:db8:a::", "2001:db8:ff::a"}, std::pair{"2001:db8:b::", "2001:db8:ff::b"}})
      core.add_route(Route{address(prefix), 64, &core_up, address(via)});
    RaConfig cn_ra;
    cn_ra.prefixes = {RaPrefix{address("2001:db8:c::")}};
    core.advertise(core_cn, cn_ra, seed("ra/cn"));
  }

  void build_correspondent() {
    cn_address_ = address("2001:db8:c::c");
    cn_ = &sim_.add_node<CorrespondentHost>("cn", HostConfig{}, seed("node/cn"));
    Interface& iface = cn_->add_host_interface(sim_.next_mac(), "cn0");
    iface.add_address(cn_address_);
    link("cn").attach(iface);
    core::CorrespondentNodeConfig cn;
    cn.addresses = {cn_address_};
    cn_->start(std::move(cn));
  }

  void build_mobile() {
    std::vector<MacAddress> macs;
    for (int i = 0; i < config_.radios; ++i)
      macs.push_back(sim_.next_mac());
    mn_ = &make_mobile("mn", macs);
    home_address_ = eui64_address(address("2001:db8:1::"), macs.front());
    for (const auto& iface : mn_->interfaces())
      radios_.push_back(iface.get());
    link(config_.start_link).attach(*radios_.front());
  }

 public:
  // Another mobile node (one radio) of the same home link, attached to `link_name` now.
  MobileHost& add_mobile(const std::string& name, const std::string& link_name) {
    MobileHost& mn = make_mobile(name, {sim_.next_mac()});
    link(link_name).attach(*mn.interfaces().front());
    return mn;
  }

 private:
  MobileHost& make_mobile(const std::string& name, const std::vector<MacAddress>& macs) {
    const wire::Ipv6Address home = eui64_address(address("2001:db8:1::"), macs.front());
    HostConfig host;
    host.send_rs = false;  // the engine solicits (§11.5.1)
    host.slaac.optimistic_dad = true;
    host.slaac.skip_dad = [home](const wire::Ipv6Address& a) { return a == home; };
    MobileHost& mn = sim_.add_node<MobileHost>(name, host, seed("node/" + name));
    for (std::size_t i = 0; i < macs.size(); ++i)
      mn.add_host_interface(macs[i], name + std::to_string(i));
    core::MobileNodeConfig config;
    config.home_addresses = {core::HomeAddressConfig{home, 64, {ha_address_}}};
    config.movement.l2_hint_implies_movement = true;
    config.movement.probe_timeout = config_.probe_timeout;
    config.route_optimization.route_optimize_by_default = config_.route_optimization;
    // The second radio is the better one: once it has a router, its care-of address is
    // registered even while the first radio is still attached (draft-04 §9.2).
    if (macs.size() > 1) config.movement.interface_preference = {mn.interfaces()[1]->ifindex()};
    mn.set_log_enabled(config_.log);
    mn.start(std::move(config));
    return mn;
  }

  TestbedConfig config_;
  Simulation sim_;
  HomeAgentNode* ha_ = nullptr;
  MobileHost* mn_ = nullptr;
  CorrespondentHost* cn_ = nullptr;
  std::vector<Interface*> radios_;
  wire::Ipv6Address home_address_, cn_address_, ha_address_;
};

// "<milliseconds> <event>" for the mobile node's Mobility Header messages sent and received
// in [from, until).
inline std::vector<std::string> signalling(const MobileHost& mn, TimePoint from, TimePoint until) {
  std::vector<std::string> out;
  for (const MobileEvent& e : mn.log()) {
    if (e.at < from || e.at >= until) continue;
    if (e.what.rfind("tx ", 0) != 0 && e.what.rfind("rx ", 0) != 0) continue;
    if (e.what.rfind("rx RA", 0) == 0) continue;
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(e.at.time_since_epoch());
    out.push_back(std::to_string(us.count()) + " " + e.what);
  }
  return out;
}

}  // namespace mipv6::sim::testing
