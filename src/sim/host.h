// A simulated IPv6 host (RFC 4861 §6.3, RFC 4862): Neighbor Discovery and SLAAC with DAD on each
// interface, Router Solicitations when a link comes up, a Default Router List and on-link
// prefixes learnt from Router Advertisements, and next-hop choice for what it sends: on-link
// destinations directly, the rest to a default router (RFC 4861 §5.2).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim/neighbor_discovery.h"
#include "sim/node.h"
#include "sim/slaac.h"
#include "wire/icmpv6.h"

namespace mipv6::sim {

struct HostConfig {
  NdConfig nd;
  SlaacConfig slaac;
  bool send_rs = true;
  // RFC 4861 §6.3.7 delays the first RS by 0..MAX_RTR_SOLICITATION_DELAY (1 s); a fixed delay
  // here keeps timings exact (0: at once, as mobile nodes do after RFC 4429).
  Duration rs_delay{0};
  unsigned max_rtr_solicitations = 3;                            // MAX_RTR_SOLICITATIONS
  Duration rtr_solicitation_interval = std::chrono::seconds(4);  // RTR_SOLICITATION_INTERVAL
};

struct DefaultRouter {
  wire::Ipv6Address address;  // the RA's (link-local) source
  std::uint32_t ifindex = 0;
  TimePoint expires;
};

struct OnLinkPrefix {
  wire::Ipv6Address prefix;
  std::uint8_t prefix_len = 64;
  std::uint32_t ifindex = 0;
  TimePoint expires;
};

class Host : public Node {
 public:
  using AddressCallback = std::function<void(Interface&, const AddressEvent&)>;
  using RaCallback = std::function<void(Interface&, const NdInput&)>;
  using PacketCallback = std::function<void(Interface&, const Frame&)>;

  Host(Scheduler& scheduler, std::string name, HostConfig config = {});
  ~Host() override;

  // An interface with ND and SLAAC (the plain Node::add_interface gives a static one).
  Interface& add_host_interface(MacAddress mac, std::string name = {});
  Slaac* slaac(const Interface& iface) const;

  void set_address_callback(AddressCallback cb) { address_cb_ = std::move(cb); }
  void set_ra_callback(RaCallback cb) { ra_cb_ = std::move(cb); }
  void set_packet_callback(PacketCallback cb) { packet_cb_ = std::move(cb); }

  // Sends a whole IPv6 packet: on-link destinations (an address prefix or an RA prefix with L)
  // directly, others to the first default router (RFC 4861 §5.2, §6.3.6). False when dropped.
  bool send(wire::Bytes packet);
  const std::vector<DefaultRouter>& default_routers() const { return routers_; }
  const std::vector<OnLinkPrefix>& on_link_prefixes() const { return prefixes_; }
  std::uint64_t rs_sent() const { return rs_sent_; }

  void on_frame(Interface& in, const Frame& frame) override;
  void on_link_up(Interface& in) override;
  void on_link_down(Interface& in) override;

 private:
  struct PerInterface {
    Interface* iface = nullptr;
    std::unique_ptr<Slaac> slaac;
    unsigned rs_count = 0;
    bool got_ra = false;
    EventId rs_timer;
  };
  PerInterface* state(const Interface& iface);
  void send_rs(Interface& in);
  void on_ra(Interface& in, const NdInput& input, const wire::RouterAdvertisement& ra);
  bool accepts(const Interface& in, const wire::Ipv6Address& destination) const;
  void expire();
  Interface* route(const wire::Ipv6Address& destination, wire::Ipv6Address& next_hop);

  HostConfig config_;
  std::vector<PerInterface> per_if_;
  std::vector<DefaultRouter> routers_;
  std::vector<OnLinkPrefix> prefixes_;
  AddressCallback address_cb_;
  RaCallback ra_cb_;
  PacketCallback packet_cb_;
  std::uint64_t rs_sent_ = 0;
};

}  // namespace mipv6::sim
