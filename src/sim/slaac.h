// IPv6 Stateless Address Autoconfiguration for a simulated interface (RFC 4862): a link-local
// address and one address per Router Advertisement prefix with the A flag (§5.5.3), interface
// identifiers in modified EUI-64 form from the MAC (RFC 4291 §2.5.1, App. A), Duplicate Address
// Detection (§5.4) with DupAddrDetectTransmits NS from :: to the solicited-node group, optional
// Optimistic DAD (RFC 4429: the address is usable while DAD runs), and the preferred / valid
// lifetimes with deprecation and removal (§5.5.4).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "sim/neighbor_discovery.h"
#include "sim/scheduler.h"
#include "wire/address.h"
#include "wire/nd_options.h"

namespace mipv6::sim {

class Interface;

struct SlaacConfig {
  unsigned dup_addr_detect_transmits = 1;            // RFC 4862 §5.1 DupAddrDetectTransmits
  Duration retrans_timer = std::chrono::seconds(1);  // RFC 4861 §10 RetransTimer
  bool optimistic_dad = false;                       // RFC 4429
  bool link_local = true;  // form fe80::/64 + EUI-64 when the link comes up (§5.3)
  // Addresses that skip DAD and are preferred at once (RFC 6275 §11.5.5: a mobile node back on
  // its home link "MUST NOT perform Duplicate Address Detection on its own home address", which
  // its home agent still defends). Empty: every address goes through DAD.
  std::function<bool(const wire::Ipv6Address&)> skip_dad = {};
};

enum class AddressState : std::uint8_t { kTentative, kOptimistic, kPreferred, kDeprecated };

struct AddressEvent {
  enum class Kind : std::uint8_t {
    kAdded,       // DAD started (tentative, or optimistic and usable at once)
    kReady,       // DAD passed: preferred
    kDeprecated,  // preferred lifetime over (§5.5.4)
    kRemoved,     // valid lifetime over, or the link went down
    kDuplicate,   // DAD found another owner (§5.4.5); the address is removed
  };
  Kind kind = Kind::kAdded;
  wire::Ipv6Address address;
  std::uint8_t prefix_len = 64;
  AddressState state = AddressState::kTentative;
};

// RFC 4291 App. A: the MAC's OUI, ff:fe, the rest, with the universal/local bit inverted.
wire::Ipv6Address eui64_address(const wire::Ipv6Address& prefix, const MacAddress& mac);

class Slaac {
 public:
  using Callback = std::function<void(const AddressEvent&)>;

  Slaac(Interface& iface, SlaacConfig config);
  ~Slaac();
  Slaac(const Slaac&) = delete;
  Slaac& operator=(const Slaac&) = delete;

  void set_callback(Callback cb) { callback_ = std::move(cb); }
  const SlaacConfig& config() const { return config_; }

  // The link came up: the link-local address and its DAD (§5.3, §5.4).
  void start();
  // The link went down: every address goes (a mobile node forms new ones on the next link).
  void stop();
  // A Prefix Information option of a valid RA (§5.5.3).
  void on_prefix(const wire::PrefixInformationOption& pio);
  // An NS or NA about one of our tentative addresses (§5.4.3, §5.4.4). True when consumed.
  bool on_packet(const NdInput& input);

  std::optional<AddressState> state(const wire::Ipv6Address& address) const;
  // Tentative (not optimistic): the address must not be used or answered for (§5.4).
  bool is_tentative(const wire::Ipv6Address& address) const;
  std::uint64_t dad_ns_sent() const { return dad_ns_sent_; }

 private:
  struct Managed {
    wire::Ipv6Address address;
    std::uint8_t prefix_len = 64;
    AddressState state = AddressState::kTentative;
    unsigned dad_sent = 0;
    std::optional<TimePoint> preferred_until;  // nullopt: infinite
    std::optional<TimePoint> valid_until;
    EventId dad_timer;
    EventId lifetime_timer;
  };
  Managed* find(const wire::Ipv6Address& address);
  const Managed* find(const wire::Ipv6Address& address) const;
  void add(const wire::Ipv6Address& address, std::uint8_t prefix_len,
           std::optional<Duration> preferred, std::optional<Duration> valid);
  void dad_step(const wire::Ipv6Address& address);
  void send_dad_ns(const wire::Ipv6Address& address);
  void duplicate(const wire::Ipv6Address& address);
  void set_lifetimes(Managed& m, std::optional<Duration> preferred, std::optional<Duration> valid);
  void arm_lifetime(Managed& m);
  void on_lifetime(const wire::Ipv6Address& address);
  void remove(const wire::Ipv6Address& address, AddressEvent::Kind why);
  void notify(AddressEvent::Kind kind, const Managed& m);

  Interface& iface_;
  SlaacConfig config_;
  Callback callback_;
  std::vector<Managed> addresses_;
  std::uint64_t dad_ns_sent_ = 0;
};

}  // namespace mipv6::sim
