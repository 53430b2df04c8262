// rtnetlink (NETLINK_ROUTE) through libmnl, for what the data plane changes in the kernel:
// link state and MTU, IPv6 addresses, routes, policy rules and proxy neighbours (issue 8,
// DESIGN.md §3), plus a monitor socket that turns kernel notifications into small events.
// Every request waits for the kernel's ACK; a refusal comes back as an Error carrying the errno
// and, where the kernel gives one, its extended-ACK message.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/engine.h"
#include "linux/result.h"
#include "linux/unique_fd.h"
#include "wire/address.h"

struct mnl_socket;
struct nlmsghdr;

namespace mipv6::linux_dp {

// Routes and rules mipv6 installs carry this routing protocol number ("proto 109" in `ip`), so
// that what a crashed daemon left behind can be recognised (issue 8).
inline constexpr std::uint8_t kMipv6RouteProtocol = 109;
inline constexpr std::uint32_t kMainTable = 254;  // RT_TABLE_MAIN

// IPv6 address flags (linux/if_addr.h IFA_F_*), kept as the kernel's bit values.
namespace address_flags {
inline constexpr std::uint32_t kNoDad = 0x02;
inline constexpr std::uint32_t kOptimistic = 0x04;  // RFC 4429
inline constexpr std::uint32_t kDadFailed = 0x08;
inline constexpr std::uint32_t kHomeAddress = 0x10;  // RFC 6275 home address (informational)
inline constexpr std::uint32_t kDeprecated = 0x20;
inline constexpr std::uint32_t kTentative = 0x40;
inline constexpr std::uint32_t kPermanent = 0x80;
inline constexpr std::uint32_t kNoPrefixRoute = 0x200;
}  // namespace address_flags

using Seconds = std::chrono::seconds;

struct LinkInfo {
  std::uint32_t ifindex = 0;
  std::string name;
  bool up = false;       // administratively up (IFF_UP)
  bool running = false;  // carrier (IFF_RUNNING / IFF_LOWER_UP)
  // RFC 2863 operational state "up" (IFLA_OPERSTATE): set by the kernel's link watcher, which
  // runs asynchronously after carrier comes up; until then the device drops what is sent.
  bool operational = false;
  std::uint32_t mtu = 0;
  std::uint32_t flags = 0;  // IFF_*
  // IFLA_ADDRESS when it is a 6-octet (Ethernet) address; nullopt for TUN and other devices.
  std::optional<core::LinkLayerAddress> link_layer_address{};
};

struct AddressSpec {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  std::uint8_t prefix_length = 64;
  std::uint32_t flags = 0;                      // address_flags::kNoDad...
  std::optional<Seconds> valid_lifetime{};      // nullopt: infinite
  std::optional<Seconds> preferred_lifetime{};  // nullopt: infinite
  friend bool operator==(const AddressSpec&, const AddressSpec&) = default;
};

struct AddressInfo {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  std::uint8_t prefix_length = 0;
  std::uint8_t scope = 0;  // RT_SCOPE_*: 0 universe, 253 link
  std::uint32_t flags = 0;
  std::optional<Seconds> valid_lifetime{};  // nullopt: infinite
  std::optional<Seconds> preferred_lifetime{};

  bool tentative() const { return (flags & address_flags::kTentative) != 0; }
  bool dad_failed() const { return (flags & address_flags::kDadFailed) != 0; }
};

struct RouteSpec {
  wire::Ipv6Address destination;  // :: with prefix_length 0: the default route
  std::uint8_t prefix_length = 128;
  std::optional<wire::Ipv6Address> gateway{};
  std::uint32_t ifindex = 0;  // 0: no output device
  std::uint32_t table = kMainTable;
  std::uint32_t metric = 0;                   // 0: the kernel's default (1024)
  std::optional<wire::Ipv6Address> source{};  // preferred source address (RTA_PREFSRC)
  std::uint8_t protocol = kMipv6RouteProtocol;
  friend bool operator==(const RouteSpec&, const RouteSpec&) = default;
};

// "from source/source_length fwmark fwmark/fwmask lookup table priority".
struct RuleSpec {
  std::optional<wire::Ipv6Address> source{};
  std::uint8_t source_length = 128;
  std::optional<wire::Ipv6Address> destination{};
  std::uint8_t destination_length = 128;
  std::optional<std::uint32_t> fwmark{};
  std::optional<std::uint32_t> fwmask{};
  std::uint32_t table = kMainTable;
  std::uint32_t priority = 0;  // 0: the kernel picks one
  std::uint8_t protocol = kMipv6RouteProtocol;
  friend bool operator==(const RuleSpec&, const RuleSpec&) = default;
};

// A proxy neighbour entry (NTF_PROXY): the kernel answers Neighbor Solicitations for `address`
// on `ifindex` (RFC 6275 §10.4.1; needs forwarding=1 and proxy_ndp=1, DESIGN.md §3).
struct ProxyNeighborSpec {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  friend bool operator==(const ProxyNeighborSpec&, const ProxyNeighborSpec&) = default;
};

struct NeighborInfo {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  std::uint16_t state = 0;  // NUD_*
  std::uint8_t flags = 0;   // NTF_*
  bool proxy = false;
  std::optional<core::LinkLayerAddress> link_address{};
};

// What the kernel's routing (its policy rules and tables) decides for a packet that leaves the
// node: RTM_GETROUTE.
struct RouteQuery {
  wire::Ipv6Address destination;
  std::optional<wire::Ipv6Address> source{};
  std::uint32_t mark = 0;     // SO_MARK of the socket that would send (rules match it)
  std::uint32_t ifindex = 0;  // 0: any interface
};

struct RouteLookup {
  std::uint8_t type = 0;      // RTN_*: RTN_UNICAST for a route out of the node
  std::uint32_t ifindex = 0;  // RTA_OIF
  // RTA_GATEWAY: the router the packet goes to; nullopt when the destination is on-link.
  std::optional<wire::Ipv6Address> gateway{};
  // RTAX_MTU: the route's own MTU (configured, or a Path MTU the kernel learned); 0: none, the
  // device's MTU applies.
  std::uint32_t mtu = 0;
};

// ---------------------------------------------------------------------------------------------
// Monitor events

struct LinkEvent {
  std::uint32_t ifindex = 0;
  bool up = false;           // IFF_UP
  bool running = false;      // carrier
  bool operational = false;  // IFLA_OPERSTATE up
  std::string name;
  bool removed = false;  // RTM_DELLINK
};
struct AddressEvent {
  std::uint32_t ifindex = 0;
  wire::Ipv6Address address;
  std::uint8_t prefix_length = 0;
  std::uint32_t flags = 0;
  bool added = true;  // false: RTM_DELADDR
};
struct RouteEvent {
  wire::Ipv6Address destination;
  std::uint8_t prefix_length = 0;
  std::uint32_t table = 0;
  std::uint32_t ifindex = 0;
  bool added = true;  // false: RTM_DELROUTE
};
using NetlinkEvent = std::variant<LinkEvent, AddressEvent, RouteEvent>;

namespace detail {
struct MnlSocketCloser {
  void operator()(mnl_socket* socket) const;
};
using MnlSocketPtr = std::unique_ptr<mnl_socket, MnlSocketCloser>;
}  // namespace detail

class Netlink {
 public:
  static Result<Netlink> open();

  Result<std::uint32_t> link_index(std::string_view name);
  Result<LinkInfo> link(std::uint32_t ifindex);
  Result<std::vector<LinkInfo>> dump_links();
  Status set_link_up(std::uint32_t ifindex, bool up);
  Status set_mtu(std::uint32_t ifindex, std::uint32_t mtu);

  Status add_address(const AddressSpec& spec);      // fails with EEXIST if present
  Status replace_address(const AddressSpec& spec);  // adds or updates flags and lifetimes
  Status delete_address(std::uint32_t ifindex, const wire::Ipv6Address& address,
                        std::uint8_t prefix_length);
  // IPv6 addresses of `ifindex`, or of every interface when it is 0.
  Result<std::vector<AddressInfo>> dump_addresses(std::uint32_t ifindex = 0);

  Status add_route(const RouteSpec& spec);  // fails with EEXIST if present
  Status replace_route(const RouteSpec& spec);
  Status delete_route(const RouteSpec& spec);
  // IPv6 unicast routes of every table (or of `table` when set), as RouteSpecs that
  // delete_route() accepts. Multipath routes are not represented.
  Result<std::vector<RouteSpec>> dump_routes(std::optional<std::uint32_t> table = std::nullopt);

  Status add_rule(const RuleSpec& spec);
  Status delete_rule(const RuleSpec& spec);
  // IPv6 "lookup table" policy rules, as RuleSpecs that delete_rule() accepts.
  Result<std::vector<RuleSpec>> dump_rules();

  Status add_proxy_neighbor(const ProxyNeighborSpec& spec);
  Status delete_proxy_neighbor(const ProxyNeighborSpec& spec);
  // IPv6 neighbours (or proxy entries) of `ifindex`, or of every interface when it is 0.
  // Deletes the neighbour cache entry of `address` (not a proxy entry), with the packets queued
  // on it; ENOENT when there is none.
  Status forget_neighbor(std::uint32_t ifindex, const wire::Ipv6Address& address);
  Result<std::vector<NeighborInfo>> dump_neighbors(std::uint32_t ifindex = 0, bool proxy = false);
  // The neighbour cache entry of `address` on `ifindex` (not a proxy entry); nullopt when there
  // is none.
  Result<std::optional<NeighborInfo>> neighbor(std::uint32_t ifindex,
                                               const wire::Ipv6Address& address);

  // Where the kernel would route `query`'s packet; ENETUNREACH (or the like) when nowhere.
  Result<RouteLookup> route_to(const RouteQuery& query);

 private:
  using MessageHandler = void (*)(const nlmsghdr*, void* context);
  explicit Netlink(detail::MnlSocketPtr socket);
  // Sends `request` and reads replies until the ACK (or NLMSG_DONE for a dump), handing every
  // data message to `handler`.
  Status transact(nlmsghdr* request, std::string_view what, MessageHandler handler = nullptr,
                  void* context = nullptr);
  Status route_request(std::uint16_t type, std::uint16_t flags, const RouteSpec& spec,
                       std::string_view what);
  Status rule_request(std::uint16_t type, std::uint16_t flags, const RuleSpec& spec,
                      std::string_view what);
  Status address_request(std::uint16_t type, std::uint16_t flags, const AddressSpec& spec,
                         std::string_view what);
  Status neighbor_request(std::uint16_t type, std::uint16_t flags, const ProxyNeighborSpec& spec,
                          std::string_view what);
  Status link_request(std::uint32_t ifindex, std::uint32_t flags, std::uint32_t change,
                      std::optional<std::uint32_t> mtu, std::string_view what);

  detail::MnlSocketPtr socket_;
  std::uint32_t port_id_ = 0;
  std::uint32_t sequence_ = 0;
};

// Kernel notifications (RTMGRP_LINK, RTMGRP_IPV6_IFADDR, RTMGRP_IPV6_ROUTE): a nonblocking
// socket for the event loop; read_events() drains what is queued.
class NetlinkMonitor {
 public:
  static Result<NetlinkMonitor> open();

  int fd() const;
  // Every event queued now (empty when none). ENOBUFS means events were lost: the caller must
  // re-read the state it mirrors (dump_addresses...) before trusting events again.
  Result<std::vector<NetlinkEvent>> read_events();

 private:
  explicit NetlinkMonitor(detail::MnlSocketPtr socket) : socket_(std::move(socket)) {}
  detail::MnlSocketPtr socket_;
};

// ---------------------------------------------------------------------------------------------
// What the daemon installed, so that shutdown removes exactly that, newest first (issue 8:
// "remove every kernel object the daemon created").

using InstalledObject = std::variant<AddressSpec, RouteSpec, RuleSpec, ProxyNeighborSpec>;

std::string describe(const InstalledObject& object);

class InstalledState {
 public:
  explicit InstalledState(Netlink& netlink) : netlink_(&netlink) {}
  InstalledState(const InstalledState&) = delete;
  InstalledState& operator=(const InstalledState&) = delete;
  // Removes whatever is still recorded; errors cannot be reported from here (call remove_all()
  // first to see them).
  ~InstalledState();

  // Installs the object and records it; nothing is recorded when the kernel refuses.
  Status install(const InstalledObject& object);
  // Removes one recorded object and forgets it (ENOENT if it was never recorded).
  Status remove(const InstalledObject& object);
  // Removes every recorded object, newest first, continuing past failures; an object the kernel
  // no longer has counts as removed. Returns the first failure.
  Status remove_all();

  // What a daemon that died without cleaning up left behind (issue 8: "a daemon that crashed
  // leaves state that the next start recognises and cleans"): deletes every IPv6 route and rule
  // tagged with `protocol`. Returns how many were deleted.
  static Result<std::size_t> remove_leftovers(Netlink& netlink,
                                              std::uint8_t protocol = kMipv6RouteProtocol);

  const std::vector<InstalledObject>& objects() const { return objects_; }

  // Called after objects() changed (install, remove, remove_all), so that the daemon can
  // record it in its state file before the next change (issue 8 crash recovery). Not called
  // from the destructor.
  void set_observer(std::function<void()> on_change) { on_change_ = std::move(on_change); }

 private:
  Status apply(const InstalledObject& object, bool add);
  void notify() const;

  Netlink* netlink_;
  std::vector<InstalledObject> objects_;
  std::function<void()> on_change_;
};

}  // namespace mipv6::linux_dp
