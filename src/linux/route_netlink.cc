#include "linux/route_netlink.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <string>

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace mipv6::linux_dp {

namespace {

constexpr std::uint32_t kInfiniteLifetime = 0xFFFFFFFF;
// IF_OPER_UP (RFC 2863 ifOperStatus "up"), from linux/if.h, which clashes with net/if.h.
constexpr std::uint8_t kOperStateUp = 6;
// Large enough for a full dump batch from the kernel (it sends up to 32 KiB per recv).
constexpr std::size_t kReceiveBuffer = 32768;
constexpr std::size_t kRequestBuffer = 1024;

std::string prefix_text(const wire::Ipv6Address& a, unsigned len) {
  return a.to_string() + "/" + std::to_string(len);
}

// The 8-bit table field; tables above 255 travel in the 32-bit attribute only.
std::uint8_t table_byte(std::uint32_t table) {
  return table < 256 ? static_cast<std::uint8_t>(table) : std::uint8_t{RT_TABLE_UNSPEC};
}

std::string on_ifindex(std::uint32_t ifindex) {
  return " on ifindex " + std::to_string(ifindex);
}

void put_address(nlmsghdr* nlh, std::uint16_t type, const wire::Ipv6Address& a) {
  mnl_attr_put(nlh, type, a.bytes.size(), a.bytes.data());
}

std::optional<wire::Ipv6Address> get_address(const nlattr* attr) {
  if (mnl_attr_get_payload_len(attr) != 16) return std::nullopt;
  wire::Ipv6Address a;
  std::memcpy(a.bytes.data(), mnl_attr_get_payload(attr), 16);
  return a;
}

std::optional<Seconds> lifetime_of(std::uint32_t value) {
  if (value == kInfiniteLifetime) return std::nullopt;
  return Seconds(value);
}

std::uint32_t lifetime_value(const std::optional<Seconds>& lifetime) {
  if (!lifetime) return kInfiniteLifetime;
  auto s = lifetime->count();
  if (s < 0) return 0;
  if (s >= std::int64_t{kInfiniteLifetime}) return kInfiniteLifetime - 1;
  return static_cast<std::uint32_t>(s);
}

// The message is long enough to hold the fixed header T after the netlink header.
template <class T>
bool has_header(const nlmsghdr* nlh) {
  return nlh->nlmsg_len >= mnl_nlmsg_size(sizeof(T));
}

// Walks the attributes that follow a fixed header of `header_size` bytes in `nlh`.
template <class F>
void for_each_attribute(const nlmsghdr* nlh, std::size_t header_size, F&& f) {
  const auto* attr = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, header_size));
  const auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
    f(attr);
    attr = mnl_attr_next(attr);
  }
}

// The kernel's extended ACK text (NLMSGERR_ATTR_MSG), when the error message carries one.
std::string extended_ack_message(const nlmsghdr* nlh) {
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) == 0 || !has_header<nlmsgerr>(nlh)) return {};
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  std::size_t offset = sizeof(nlmsgerr);
  // Without NLM_F_CAPPED the whole offending request is echoed before the TLVs.
  if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) offset += err->msg.nlmsg_len - sizeof(nlmsghdr);
  if (sizeof(nlmsghdr) + offset > nlh->nlmsg_len) return {};
  std::string message;
  for_each_attribute(nlh, offset, [&](const nlattr* attr) {
    if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
        mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0)
      message = mnl_attr_get_str(attr);
  });
  return message;
}

nlmsghdr* start_message(std::array<char, kRequestBuffer>& buffer, std::uint16_t type,
                        std::uint16_t flags) {
  buffer.fill(0);
  nlmsghdr* nlh = mnl_nlmsg_put_header(buffer.data());
  nlh->nlmsg_type = type;
  nlh->nlmsg_flags = static_cast<std::uint16_t>(NLM_F_REQUEST | flags);
  return nlh;
}

// IFLA_ADDRESS of an Ethernet-like device; TUN devices have none, and other link types (an
// IPv6-in-IPv6 tunnel's 16-octet address) are not link-layer addresses ND could carry.
std::optional<core::LinkLayerAddress> ethernet_address(const nlattr* attr) {
  core::LinkLayerAddress address{};
  if (mnl_attr_get_payload_len(attr) != address.size()) return std::nullopt;
  std::memcpy(address.data(), mnl_attr_get_payload(attr), address.size());
  return address;
}

// ifindex 0 when the message is too short to be a link message.
LinkInfo parse_link(const nlmsghdr* nlh) {
  if (!has_header<ifinfomsg>(nlh)) return {};
  const auto* ifi = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  LinkInfo info;
  info.ifindex = static_cast<std::uint32_t>(ifi->ifi_index);
  info.flags = ifi->ifi_flags;
  info.up = (ifi->ifi_flags & IFF_UP) != 0;
  info.running = (ifi->ifi_flags & IFF_RUNNING) != 0;
  for_each_attribute(nlh, sizeof(ifinfomsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFLA_IFNAME:
        if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) info.name = mnl_attr_get_str(attr);
        break;
      case IFLA_MTU:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) info.mtu = mnl_attr_get_u32(attr);
        break;
      case IFLA_OPERSTATE:
        if (mnl_attr_validate(attr, MNL_TYPE_U8) >= 0)
          info.operational = mnl_attr_get_u8(attr) == kOperStateUp;
        break;
      case IFLA_ADDRESS:
        info.link_layer_address = ethernet_address(attr);
        break;
      default:
        break;
    }
  });
  return info;
}

std::optional<AddressInfo> parse_address(const nlmsghdr* nlh) {
  if (!has_header<ifaddrmsg>(nlh)) return std::nullopt;
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET6) return std::nullopt;
  AddressInfo info;
  info.ifindex = ifa->ifa_index;
  info.prefix_length = ifa->ifa_prefixlen;
  info.scope = ifa->ifa_scope;
  info.flags = ifa->ifa_flags;
  bool have_address = false;
  for_each_attribute(nlh, sizeof(ifaddrmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case IFA_ADDRESS:
        if (auto a = get_address(attr)) {
          info.address = *a;
          have_address = true;
        }
        break;
      case IFA_FLAGS:  // the 32-bit flags supersede the 8-bit field
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) info.flags = mnl_attr_get_u32(attr);
        break;
      case IFA_CACHEINFO:
        if (mnl_attr_get_payload_len(attr) >= sizeof(ifa_cacheinfo)) {
          ifa_cacheinfo ci{};
          std::memcpy(&ci, mnl_attr_get_payload(attr), sizeof ci);
          info.valid_lifetime = lifetime_of(ci.ifa_valid);
          info.preferred_lifetime = lifetime_of(ci.ifa_prefered);
        }
        break;
      default:
        break;
    }
  });
  if (!have_address) return std::nullopt;
  return info;
}

std::optional<NeighborInfo> parse_neighbor(const nlmsghdr* nlh) {
  if (!has_header<ndmsg>(nlh)) return std::nullopt;
  const auto* ndm = static_cast<const ndmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ndm->ndm_family != AF_INET6) return std::nullopt;
  NeighborInfo info;
  info.ifindex = static_cast<std::uint32_t>(ndm->ndm_ifindex);
  info.state = ndm->ndm_state;
  info.flags = ndm->ndm_flags;
  info.proxy = (ndm->ndm_flags & NTF_PROXY) != 0;
  bool have_address = false;
  for_each_attribute(nlh, sizeof(ndmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case NDA_DST:
        if (auto a = get_address(attr)) {
          info.address = *a;
          have_address = true;
        }
        break;
      case NDA_LLADDR:
        if (mnl_attr_get_payload_len(attr) == 6) {
          core::LinkLayerAddress mac{};
          std::memcpy(mac.data(), mnl_attr_get_payload(attr), mac.size());
          info.link_address = mac;
        }
        break;
      default:
        break;
    }
  });
  if (!have_address) return std::nullopt;
  return info;
}

std::optional<RouteEvent> parse_route(const nlmsghdr* nlh) {
  if (!has_header<rtmsg>(nlh)) return std::nullopt;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET6) return std::nullopt;
  RouteEvent event;
  event.prefix_length = rtm->rtm_dst_len;
  event.table = rtm->rtm_table;
  event.added = nlh->nlmsg_type == RTM_NEWROUTE;
  for_each_attribute(nlh, sizeof(rtmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case RTA_DST:
        if (auto a = get_address(attr)) event.destination = *a;
        break;
      case RTA_TABLE:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) event.table = mnl_attr_get_u32(attr);
        break;
      case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) event.ifindex = mnl_attr_get_u32(attr);
        break;
      default:
        break;
    }
  });
  return event;
}

std::optional<RouteSpec> parse_route_spec(const nlmsghdr* nlh) {
  if (!has_header<rtmsg>(nlh)) return std::nullopt;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET6 || rtm->rtm_type != RTN_UNICAST) return std::nullopt;
  RouteSpec spec;
  spec.prefix_length = rtm->rtm_dst_len;
  spec.table = rtm->rtm_table;
  spec.protocol = rtm->rtm_protocol;
  bool multipath = false;
  for_each_attribute(nlh, sizeof(rtmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case RTA_DST:
        if (auto a = get_address(attr)) spec.destination = *a;
        break;
      case RTA_GATEWAY:
        spec.gateway = get_address(attr);
        break;
      case RTA_PREFSRC:
        spec.source = get_address(attr);
        break;
      case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) spec.ifindex = mnl_attr_get_u32(attr);
        break;
      case RTA_TABLE:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) spec.table = mnl_attr_get_u32(attr);
        break;
      case RTA_PRIORITY:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) spec.metric = mnl_attr_get_u32(attr);
        break;
      case RTA_MULTIPATH:
        multipath = true;
        break;
      default:
        break;
    }
  });
  if (multipath) return std::nullopt;
  return spec;
}

std::optional<RuleSpec> parse_rule_spec(const nlmsghdr* nlh) {
  if (!has_header<fib_rule_hdr>(nlh)) return std::nullopt;
  const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
  if (frh->family != AF_INET6 || frh->action != FR_ACT_TO_TBL) return std::nullopt;
  RuleSpec spec;
  spec.table = frh->table;
  spec.protocol = 0;
  for_each_attribute(nlh, sizeof(fib_rule_hdr), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case FRA_SRC:
        spec.source = get_address(attr);
        spec.source_length = frh->src_len;
        break;
      case FRA_DST:
        spec.destination = get_address(attr);
        spec.destination_length = frh->dst_len;
        break;
      case FRA_FWMARK:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) spec.fwmark = mnl_attr_get_u32(attr);
        break;
      case FRA_FWMASK:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) spec.fwmask = mnl_attr_get_u32(attr);
        break;
      case FRA_TABLE:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) spec.table = mnl_attr_get_u32(attr);
        break;
      case FRA_PRIORITY:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) spec.priority = mnl_attr_get_u32(attr);
        break;
      case FRA_PROTOCOL:
        if (mnl_attr_validate(attr, MNL_TYPE_U8) >= 0) spec.protocol = mnl_attr_get_u8(attr);
        break;
      default:
        break;
    }
  });
  return spec;
}

Result<detail::MnlSocketPtr> open_socket(unsigned groups, int flags) {
  detail::MnlSocketPtr socket(mnl_socket_open2(NETLINK_ROUTE, flags | SOCK_CLOEXEC));
  if (!socket) return errno_error("open NETLINK_ROUTE socket");
  if (mnl_socket_bind(socket.get(), groups, MNL_SOCKET_AUTOPID) < 0)
    return errno_error("bind NETLINK_ROUTE socket");
  return socket;
}

}  // namespace

void detail::MnlSocketCloser::operator()(mnl_socket* socket) const {
  mnl_socket_close(socket);
}

// ---------------------------------------------------------------------------------------------
// Netlink

Result<Netlink> Netlink::open() {
  auto socket = open_socket(0, 0);
  if (!socket) return socket.error();
  // Extended ACKs give a reason beyond errno ("Nexthop device is not up"); capped so that the
  // kernel does not echo the whole request back. Both are optional: older kernels refuse them.
  int on = 1;
  mnl_socket_setsockopt(socket->get(), NETLINK_EXT_ACK, &on, sizeof on);
  mnl_socket_setsockopt(socket->get(), NETLINK_CAP_ACK, &on, sizeof on);
  Netlink netlink(std::move(*socket));
  return netlink;
}

Netlink::Netlink(detail::MnlSocketPtr socket)
    : socket_(std::move(socket)), port_id_(mnl_socket_get_portid(socket_.get())) {}

Status Netlink::transact(nlmsghdr* request, std::string_view what, MessageHandler handler,
                         void* context) {
  request->nlmsg_seq = ++sequence_;
  request->nlmsg_flags = static_cast<std::uint16_t>(request->nlmsg_flags | NLM_F_ACK);
  if (mnl_socket_sendto(socket_.get(), request, request->nlmsg_len) < 0) return errno_error(what);
  std::vector<char> buffer(kReceiveBuffer);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(what);
    }
    int remaining = static_cast<int>(n);
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data());
    for (; mnl_nlmsg_ok(nlh, remaining); nlh = mnl_nlmsg_next(nlh, &remaining)) {
      // Stale replies (from a request that timed out or was interrupted) are skipped.
      if (nlh->nlmsg_seq != request->nlmsg_seq || nlh->nlmsg_pid != port_id_) continue;
      if (nlh->nlmsg_type == NLMSG_DONE) return {};
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (!has_header<nlmsgerr>(nlh)) return make_error(what, EPROTO);
        const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
        if (err->error == 0) return {};
        Error e = make_error(what, -err->error);
        if (auto ext = extended_ack_message(nlh); !ext.empty()) e.message += " (" + ext + ")";
        return e;
      }
      if (handler != nullptr) handler(nlh, context);
    }
  }
}

Result<std::uint32_t> Netlink::link_index(std::string_view name) {
  // Also keeps the attribute within the request buffer.
  if (name.empty() || name.size() >= IFNAMSIZ)
    return make_error("RTM_GETLINK '" + std::string(name) + "'", EINVAL);
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  std::string n(name);
  mnl_attr_put_strz(nlh, IFLA_IFNAME, n.c_str());
  LinkInfo info;
  auto s = transact(
      nlh, "RTM_GETLINK " + n,
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type == RTM_NEWLINK) *static_cast<LinkInfo*>(ctx) = parse_link(m);
      },
      &info);
  if (!s) return s.error();
  if (info.ifindex == 0) return make_error("RTM_GETLINK " + n, ENODEV);
  return info.ifindex;
}

Result<LinkInfo> Netlink::link(std::uint32_t ifindex) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = static_cast<int>(ifindex);
  LinkInfo info;
  std::string what = "RTM_GETLINK ifindex " + std::to_string(ifindex);
  auto s = transact(
      nlh, what,
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type == RTM_NEWLINK) *static_cast<LinkInfo*>(ctx) = parse_link(m);
      },
      &info);
  if (!s) return s.error();
  if (info.ifindex == 0) return make_error(what, ENODEV);
  return info;
}

Result<std::vector<LinkInfo>> Netlink::dump_links() {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETLINK, NLM_F_DUMP);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  std::vector<LinkInfo> links;
  auto s = transact(
      nlh, "RTM_GETLINK dump",
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type != RTM_NEWLINK) return;
        if (LinkInfo info = parse_link(m); info.ifindex != 0)
          static_cast<std::vector<LinkInfo>*>(ctx)->push_back(std::move(info));
      },
      &links);
  if (!s) return s.error();
  return links;
}

Status Netlink::link_request(std::uint32_t ifindex, std::uint32_t flags, std::uint32_t change,
                             std::optional<std::uint32_t> mtu, std::string_view what) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_NEWLINK, 0);
  auto* ifi = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = static_cast<int>(ifindex);
  ifi->ifi_flags = flags;
  ifi->ifi_change = change;
  if (mtu) mnl_attr_put_u32(nlh, IFLA_MTU, *mtu);
  return transact(nlh, std::string(what) + on_ifindex(ifindex));
}

Status Netlink::set_link_up(std::uint32_t ifindex, bool up) {
  return link_request(ifindex, up ? std::uint32_t{IFF_UP} : 0u, std::uint32_t{IFF_UP}, std::nullopt,
                      up ? "set link up" : "set link down");
}

Status Netlink::set_mtu(std::uint32_t ifindex, std::uint32_t mtu) {
  return link_request(ifindex, 0, 0, mtu, "set mtu " + std::to_string(mtu));
}

Status Netlink::address_request(std::uint16_t type, std::uint16_t flags, const AddressSpec& spec,
                                std::string_view what) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, type, flags);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET6;
  ifa->ifa_prefixlen = spec.prefix_length;
  ifa->ifa_index = spec.ifindex;
  ifa->ifa_flags = static_cast<std::uint8_t>(spec.flags & 0xFF);
  put_address(nlh, IFA_LOCAL, spec.address);
  if (type == RTM_NEWADDR) {
    mnl_attr_put_u32(nlh, IFA_FLAGS, spec.flags);
    if (spec.valid_lifetime || spec.preferred_lifetime) {
      ifa_cacheinfo ci{};
      ci.ifa_valid = lifetime_value(spec.valid_lifetime);
      ci.ifa_prefered = lifetime_value(spec.preferred_lifetime);
      mnl_attr_put(nlh, IFA_CACHEINFO, sizeof ci, &ci);
    }
  }
  return transact(nlh, std::string(what) + " " + prefix_text(spec.address, spec.prefix_length) +
                           on_ifindex(spec.ifindex));
}

Status Netlink::add_address(const AddressSpec& spec) {
  return address_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, spec, "RTM_NEWADDR");
}

Status Netlink::replace_address(const AddressSpec& spec) {
  return address_request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, spec, "RTM_NEWADDR replace");
}

Status Netlink::delete_address(std::uint32_t ifindex, const wire::Ipv6Address& address,
                               std::uint8_t prefix_length) {
  AddressSpec spec;
  spec.ifindex = ifindex;
  spec.address = address;
  spec.prefix_length = prefix_length;
  return address_request(RTM_DELADDR, 0, spec, "RTM_DELADDR");
}

Result<std::vector<AddressInfo>> Netlink::dump_addresses(std::uint32_t ifindex) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETADDR, NLM_F_DUMP);
  auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
  ifa->ifa_family = AF_INET6;
  std::vector<AddressInfo> all;
  auto s = transact(
      nlh, "RTM_GETADDR dump",
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type != RTM_NEWADDR) return;
        if (auto info = parse_address(m))
          static_cast<std::vector<AddressInfo>*>(ctx)->push_back(*info);
      },
      &all);
  if (!s) return s.error();
  if (ifindex == 0) return all;
  std::vector<AddressInfo> selected;
  for (const auto& a : all) {
    if (a.ifindex == ifindex) selected.push_back(a);
  }
  return selected;
}

Status Netlink::route_request(std::uint16_t type, std::uint16_t flags, const RouteSpec& spec,
                              std::string_view what) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, type, flags);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET6;
  rtm->rtm_dst_len = spec.prefix_length;
  rtm->rtm_table = table_byte(spec.table);
  rtm->rtm_protocol = spec.protocol;
  rtm->rtm_scope = type == RTM_DELROUTE ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
  rtm->rtm_type = RTN_UNICAST;
  if (spec.prefix_length > 0) put_address(nlh, RTA_DST, spec.destination);
  if (spec.gateway) put_address(nlh, RTA_GATEWAY, *spec.gateway);
  if (spec.ifindex != 0) mnl_attr_put_u32(nlh, RTA_OIF, spec.ifindex);
  if (spec.source) put_address(nlh, RTA_PREFSRC, *spec.source);
  if (spec.metric != 0) mnl_attr_put_u32(nlh, RTA_PRIORITY, spec.metric);
  mnl_attr_put_u32(nlh, RTA_TABLE, spec.table);
  std::string text = std::string(what) + " " + prefix_text(spec.destination, spec.prefix_length);
  if (spec.gateway) text += " via " + spec.gateway->to_string();
  if (spec.ifindex != 0) text += " dev " + std::to_string(spec.ifindex);
  text += " table " + std::to_string(spec.table);
  return transact(nlh, text);
}

Status Netlink::add_route(const RouteSpec& spec) {
  return route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, spec, "RTM_NEWROUTE");
}

Status Netlink::replace_route(const RouteSpec& spec) {
  return route_request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, spec, "RTM_NEWROUTE replace");
}

Status Netlink::delete_route(const RouteSpec& spec) {
  return route_request(RTM_DELROUTE, 0, spec, "RTM_DELROUTE");
}

Result<std::vector<RouteSpec>> Netlink::dump_routes(std::optional<std::uint32_t> table) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETROUTE, NLM_F_DUMP);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET6;
  std::vector<RouteSpec> all;
  auto s = transact(
      nlh, "RTM_GETROUTE dump",
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type != RTM_NEWROUTE) return;
        if (auto r = parse_route_spec(m)) static_cast<std::vector<RouteSpec>*>(ctx)->push_back(*r);
      },
      &all);
  if (!s) return s.error();
  if (!table) return all;
  std::vector<RouteSpec> selected;
  for (const auto& r : all) {
    if (r.table == *table) selected.push_back(r);
  }
  return selected;
}

Status Netlink::rule_request(std::uint16_t type, std::uint16_t flags, const RuleSpec& spec,
                             std::string_view what) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, type, flags);
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = AF_INET6;
  frh->action = FR_ACT_TO_TBL;
  frh->table = table_byte(spec.table);
  std::string text(what);
  if (spec.source) {
    frh->src_len = spec.source_length;
    put_address(nlh, FRA_SRC, *spec.source);
    text += " from " + prefix_text(*spec.source, spec.source_length);
  }
  if (spec.destination) {
    frh->dst_len = spec.destination_length;
    put_address(nlh, FRA_DST, *spec.destination);
    text += " to " + prefix_text(*spec.destination, spec.destination_length);
  }
  if (spec.fwmark) {
    mnl_attr_put_u32(nlh, FRA_FWMARK, *spec.fwmark);
    text += " fwmark " + std::to_string(*spec.fwmark);
  }
  if (spec.fwmask) mnl_attr_put_u32(nlh, FRA_FWMASK, *spec.fwmask);
  mnl_attr_put_u32(nlh, FRA_TABLE, spec.table);
  if (spec.priority != 0) mnl_attr_put_u32(nlh, FRA_PRIORITY, spec.priority);
  mnl_attr_put_u8(nlh, FRA_PROTOCOL, spec.protocol);
  text += " table " + std::to_string(spec.table);
  return transact(nlh, text);
}

Status Netlink::add_rule(const RuleSpec& spec) {
  return rule_request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, spec, "RTM_NEWRULE");
}

Status Netlink::delete_rule(const RuleSpec& spec) {
  return rule_request(RTM_DELRULE, 0, spec, "RTM_DELRULE");
}

Result<std::vector<RuleSpec>> Netlink::dump_rules() {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETRULE, NLM_F_DUMP);
  auto* frh = static_cast<fib_rule_hdr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(fib_rule_hdr)));
  frh->family = AF_INET6;
  std::vector<RuleSpec> rules;
  auto s = transact(
      nlh, "RTM_GETRULE dump",
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type != RTM_NEWRULE) return;
        if (auto r = parse_rule_spec(m)) static_cast<std::vector<RuleSpec>*>(ctx)->push_back(*r);
      },
      &rules);
  if (!s) return s.error();
  return rules;
}

Status Netlink::neighbor_request(std::uint16_t type, std::uint16_t flags,
                                 const ProxyNeighborSpec& spec, std::string_view what) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, type, flags);
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  ndm->ndm_family = AF_INET6;
  ndm->ndm_ifindex = static_cast<int>(spec.ifindex);
  ndm->ndm_flags = NTF_PROXY;
  ndm->ndm_state = NUD_PERMANENT;
  put_address(nlh, NDA_DST, spec.address);
  return transact(
      nlh, std::string(what) + " proxy " + spec.address.to_string() + on_ifindex(spec.ifindex));
}

Status Netlink::add_proxy_neighbor(const ProxyNeighborSpec& spec) {
  return neighbor_request(RTM_NEWNEIGH, NLM_F_CREATE | NLM_F_EXCL, spec, "RTM_NEWNEIGH");
}

Status Netlink::delete_proxy_neighbor(const ProxyNeighborSpec& spec) {
  return neighbor_request(RTM_DELNEIGH, 0, spec, "RTM_DELNEIGH");
}

Status Netlink::forget_neighbor(std::uint32_t ifindex, const wire::Ipv6Address& address) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_DELNEIGH, 0);
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  ndm->ndm_family = AF_INET6;
  ndm->ndm_ifindex = static_cast<int>(ifindex);
  put_address(nlh, NDA_DST, address);
  return transact(nlh, "RTM_DELNEIGH " + address.to_string() + on_ifindex(ifindex));
}

Result<std::vector<NeighborInfo>> Netlink::dump_neighbors(std::uint32_t ifindex, bool proxy) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETNEIGH, NLM_F_DUMP);
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  ndm->ndm_family = AF_INET6;
  // NTF_PROXY in the request selects the proxy table instead of the neighbour cache.
  ndm->ndm_flags = proxy ? NTF_PROXY : 0;
  std::vector<NeighborInfo> all;
  auto s = transact(
      nlh, "RTM_GETNEIGH dump",
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type != RTM_NEWNEIGH) return;
        if (auto info = parse_neighbor(m))
          static_cast<std::vector<NeighborInfo>*>(ctx)->push_back(*info);
      },
      &all);
  if (!s) return s.error();
  std::vector<NeighborInfo> selected;
  for (const auto& n : all) {
    if ((ifindex == 0 || n.ifindex == ifindex) && n.proxy == proxy) selected.push_back(n);
  }
  return selected;
}

Result<std::optional<NeighborInfo>> Netlink::neighbor(std::uint32_t ifindex,
                                                      const wire::Ipv6Address& address) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETNEIGH, 0);
  auto* ndm = static_cast<ndmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ndmsg)));
  ndm->ndm_family = AF_INET6;
  ndm->ndm_ifindex = static_cast<int>(ifindex);
  put_address(nlh, NDA_DST, address);
  std::optional<NeighborInfo> found;
  auto s = transact(
      nlh, "RTM_GETNEIGH " + address.to_string() + on_ifindex(ifindex),
      [](const nlmsghdr* m, void* ctx) {
        if (m->nlmsg_type != RTM_NEWNEIGH) return;
        if (auto info = parse_neighbor(m); info && !info->proxy)
          *static_cast<std::optional<NeighborInfo>*>(ctx) = *info;
      },
      &found);
  if (!s) {
    if (s.error().code == ENOENT) return std::optional<NeighborInfo>{};
    return s.error();
  }
  return found;
}

namespace {

// RTAX_MTU from a route's RTA_METRICS nest; 0 when it has none.
std::uint32_t route_mtu(const nlattr* metrics) {
  std::uint32_t mtu = 0;
  const auto* attr = static_cast<const nlattr*>(mnl_attr_get_payload(metrics));
  const auto* tail =
      static_cast<const char*>(mnl_attr_get_payload(metrics)) + mnl_attr_get_payload_len(metrics);
  while (mnl_attr_ok(attr, static_cast<int>(tail - reinterpret_cast<const char*>(attr)))) {
    if (mnl_attr_get_type(attr) == RTAX_MTU && mnl_attr_validate(attr, MNL_TYPE_U32) >= 0)
      mtu = mnl_attr_get_u32(attr);
    attr = mnl_attr_next(attr);
  }
  return mtu;
}

void parse_route_lookup(const nlmsghdr* nlh, RouteLookup& out) {
  if (nlh->nlmsg_type != RTM_NEWROUTE || !has_header<rtmsg>(nlh)) return;
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  if (rtm->rtm_family != AF_INET6) return;
  out.type = rtm->rtm_type;
  for_each_attribute(nlh, sizeof(rtmsg), [&](const nlattr* attr) {
    switch (mnl_attr_get_type(attr)) {
      case RTA_OIF:
        if (mnl_attr_validate(attr, MNL_TYPE_U32) >= 0) out.ifindex = mnl_attr_get_u32(attr);
        break;
      case RTA_GATEWAY:
        out.gateway = get_address(attr);
        break;
      case RTA_METRICS:
        if (mnl_attr_validate(attr, MNL_TYPE_NESTED) >= 0) out.mtu = route_mtu(attr);
        break;
      default:
        break;
    }
  });
}

}  // namespace

Result<RouteLookup> Netlink::route_to(const RouteQuery& query) {
  std::array<char, kRequestBuffer> buffer{};
  nlmsghdr* nlh = start_message(buffer, RTM_GETROUTE, 0);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(rtmsg)));
  rtm->rtm_family = AF_INET6;
  rtm->rtm_dst_len = 128;
  put_address(nlh, RTA_DST, query.destination);
  if (query.source) {
    rtm->rtm_src_len = 128;
    put_address(nlh, RTA_SRC, *query.source);
  }
  if (query.mark != 0) mnl_attr_put_u32(nlh, RTA_MARK, query.mark);
  if (query.ifindex != 0) mnl_attr_put_u32(nlh, RTA_OIF, query.ifindex);
  RouteLookup lookup;
  auto s = transact(
      nlh, "RTM_GETROUTE " + query.destination.to_string(),
      [](const nlmsghdr* m, void* ctx) { parse_route_lookup(m, *static_cast<RouteLookup*>(ctx)); },
      &lookup);
  if (!s) return s.error();
  if (lookup.type == 0) return make_error("RTM_GETROUTE " + query.destination.to_string(), EPROTO);
  return lookup;
}

// ---------------------------------------------------------------------------------------------
// NetlinkMonitor

Result<NetlinkMonitor> NetlinkMonitor::open() {
  auto socket = open_socket(RTMGRP_LINK | RTMGRP_IPV6_IFADDR | RTMGRP_IPV6_ROUTE, SOCK_NONBLOCK);
  if (!socket) return socket.error();
  return NetlinkMonitor(std::move(*socket));
}

int NetlinkMonitor::fd() const {
  return mnl_socket_get_fd(socket_.get());
}

Result<std::vector<NetlinkEvent>> NetlinkMonitor::read_events() {
  std::vector<NetlinkEvent> events;
  std::vector<char> buffer(kReceiveBuffer);
  while (true) {
    ssize_t n = mnl_socket_recvfrom(socket_.get(), buffer.data(), buffer.size());
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return events;
      if (errno == EINTR) continue;
      return errno_error("read netlink events");
    }
    int remaining = static_cast<int>(n);
    const auto* nlh = reinterpret_cast<const nlmsghdr*>(buffer.data());
    for (; mnl_nlmsg_ok(nlh, remaining); nlh = mnl_nlmsg_next(nlh, &remaining)) {
      switch (nlh->nlmsg_type) {
        case RTM_NEWLINK:
        case RTM_DELLINK: {
          LinkInfo info = parse_link(nlh);
          if (info.ifindex == 0) break;
          events.push_back(LinkEvent{info.ifindex, info.up, info.running, info.operational,
                                     info.name, nlh->nlmsg_type == RTM_DELLINK});
          break;
        }
        case RTM_NEWADDR:
        case RTM_DELADDR:
          if (auto a = parse_address(nlh)) {
            events.push_back(AddressEvent{a->ifindex, a->address, a->prefix_length, a->flags,
                                          nlh->nlmsg_type == RTM_NEWADDR});
          }
          break;
        case RTM_NEWROUTE:
        case RTM_DELROUTE:
          if (auto r = parse_route(nlh)) events.push_back(*r);
          break;
        default:
          break;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// InstalledState

std::string describe(const InstalledObject& object) {
  struct Describe {
    std::string operator()(const AddressSpec& a) const {
      return "address " + prefix_text(a.address, a.prefix_length) + on_ifindex(a.ifindex);
    }
    std::string operator()(const RouteSpec& r) const {
      return "route " + prefix_text(r.destination, r.prefix_length) + " table " +
             std::to_string(r.table);
    }
    std::string operator()(const RuleSpec& r) const {
      return "rule priority " + std::to_string(r.priority) + " table " + std::to_string(r.table);
    }
    std::string operator()(const ProxyNeighborSpec& p) const {
      return "proxy neighbour " + p.address.to_string() + on_ifindex(p.ifindex);
    }
  };
  return std::visit(Describe{}, object);
}

InstalledState::~InstalledState() {
  // No observer call from the destructor: its owner may already be half destroyed.
  on_change_ = nullptr;
  (void)remove_all();
}

void InstalledState::notify() const {
  if (on_change_) on_change_();
}

Status InstalledState::apply(const InstalledObject& object, bool add) {
  struct Apply {
    Netlink& nl;
    bool add;
    Status operator()(const AddressSpec& a) const {
      return add ? nl.add_address(a) : nl.delete_address(a.ifindex, a.address, a.prefix_length);
    }
    Status operator()(const RouteSpec& r) const {
      return add ? nl.add_route(r) : nl.delete_route(r);
    }
    Status operator()(const RuleSpec& r) const { return add ? nl.add_rule(r) : nl.delete_rule(r); }
    Status operator()(const ProxyNeighborSpec& p) const {
      return add ? nl.add_proxy_neighbor(p) : nl.delete_proxy_neighbor(p);
    }
  };
  return std::visit(Apply{*netlink_, add}, object);
}

Status InstalledState::install(const InstalledObject& object) {
  if (auto s = apply(object, true); !s) return s;
  objects_.push_back(object);
  notify();
  return {};
}

namespace {
// The object is gone already: its interface was deleted, or someone else removed it.
bool already_gone(int code) {
  return code == ENOENT || code == ESRCH || code == EADDRNOTAVAIL || code == ENODEV;
}
}  // namespace

Status InstalledState::remove(const InstalledObject& object) {
  for (auto it = objects_.rbegin(); it != objects_.rend(); ++it) {
    if (*it != object) continue;
    objects_.erase(std::next(it).base());
    // Forgotten even when the kernel refuses: the record must not outlive what it describes.
    notify();
    if (auto s = apply(object, false); !s && !already_gone(s.error().code)) return s;
    return {};
  }
  return make_error("remove " + describe(object) + ": not installed by us", ENOENT);
}

Status InstalledState::remove_all() {
  Status first;
  while (!objects_.empty()) {
    InstalledObject object = std::move(objects_.back());
    objects_.pop_back();
    if (auto s = apply(object, false); !s && !already_gone(s.error().code) && first) first = s;
  }
  notify();
  return first;
}

Result<std::size_t> InstalledState::remove_leftovers(Netlink& netlink, std::uint8_t protocol) {
  std::size_t removed = 0;
  auto rules = netlink.dump_rules();
  if (!rules) return rules.error();
  for (const auto& rule : *rules) {
    if (rule.protocol != protocol) continue;
    if (auto s = netlink.delete_rule(rule); !s && !already_gone(s.error().code)) return s.error();
    ++removed;
  }
  auto routes = netlink.dump_routes();
  if (!routes) return routes.error();
  for (const auto& route : *routes) {
    if (route.protocol != protocol) continue;
    if (auto s = netlink.delete_route(route); !s && !already_gone(s.error().code)) return s.error();
    ++removed;
  }
  return removed;
}

}  // namespace mipv6::linux_dp
