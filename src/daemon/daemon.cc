#include "daemon/daemon.h"

#include <array>
#include <csignal>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <system_error>
#include <utility>

#include "crypto/crypto.h"
#include "daemon/control.h"
#include "daemon/correspondent_role.h"
#include "daemon/home_agent_role.h"
#include "daemon/mobile_node_role.h"
#include "daemon/state_file.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"
#include "wire/mobility.h"
#include "wire/packet.h"

namespace mipv6::daemon {

namespace {

constexpr std::string_view kSource = "mipv6d";
constexpr std::size_t kPacketBuffer = 65575;  // the largest IPv6 packet + room for the header
// Receive queues: the tunnel socket carries whole data streams (a TCP window of packets arrives
// in a burst between two reads), signalling only bursts of small messages.
constexpr int kTunnelReceiveBuffer = 8 << 20;
constexpr int kSignallingReceiveBuffer = 1 << 20;
constexpr int kMaxReadsPerWakeup = 256;  // packets from one socket before the loop moves on

// ICMPv6 types the roles take (RFC 4443 errors, RFC 4861 RA/NS/NA, RFC 6275 §6.5-§6.8).
constexpr std::uint8_t kRouterAdvertisement = wire::RouterAdvertisement::kType;
constexpr std::uint8_t kNeighborSolicitation = wire::NeighborSolicitation::kType;
constexpr std::uint8_t kNeighborAdvertisement = wire::NeighborAdvertisement::kType;
constexpr std::uint8_t kDhaadRequest = wire::HomeAgentAddressDiscoveryRequest::kType;
constexpr std::uint8_t kDhaadReply = wire::HomeAgentAddressDiscoveryReply::kType;
constexpr std::uint8_t kPrefixSolicitation = wire::MobilePrefixSolicitation::kType;
constexpr std::uint8_t kPrefixAdvertisement = wire::MobilePrefixAdvertisement::kType;
constexpr std::array<std::uint8_t, 11> kIcmpTypes{1, 2, 3, 4, 134, 135, 136, 144, 145, 146, 147};

// The engines' randomness (cookies, nonces, sequence numbers, jitter) comes from the kernel's
// CSPRNG in the daemon (core/rng.h). A failing getrandom() is not survivable: weak nonces would
// let an attacker forge return routability (RFC 6275 §15.4).
class SystemRng final : public core::Rng {
 public:
  std::uint64_t next_u64() override {
    std::array<std::byte, 8> bytes{};
    if (!crypto::random_bytes(bytes)) std::terminate();
    std::uint64_t value = 0;
    for (std::byte b : bytes)
      value = (value << 8) | static_cast<std::uint64_t>(b);
    return value;
  }
};

// A raw socket hands over what follows the IPv6 header; the engines want whole packets
// (core::RxPacket), so the header is rebuilt from what the kernel reported (addresses, hop limit)
// in the room left for it in front of the payload: `slot` holds that room, then the payload.
wire::ByteSpan rebuild_packet(const linux_dp::ReceivedPacket& received, std::uint8_t next_header,
                              std::span<std::byte> slot) {
  wire::Ipv6Header header;
  header.payload_length = static_cast<std::uint16_t>(received.length);
  header.next_header = next_header;
  header.hop_limit = static_cast<std::uint8_t>(received.hop_limit.value_or(64));
  header.source = received.source;
  header.destination = received.destination;
  wire::write_ipv6_header(slot.first<wire::kIpv6HeaderSize>(), header);
  return wire::ByteSpan(slot.first(wire::kIpv6HeaderSize + received.length));
}

std::optional<std::uint8_t> icmpv6_type(const core::RxPacket& packet) {
  const wire::ByteSpan upper = packet.upper();
  if (upper.empty()) return std::nullopt;
  return static_cast<std::uint8_t>(upper[0]);
}

bool is_signalling(const core::RxPacket& packet) {
  if (packet.layout.upper_protocol == wire::ip_proto::kMobility) return true;
  if (packet.layout.upper_protocol != wire::ip_proto::kIcmpv6) return false;
  const auto type = icmpv6_type(packet);
  return type && *type >= kDhaadRequest && *type <= kPrefixAdvertisement;
}

// The control socket and the state file live in /run/mipv6d by default: created (mode 0700:
// the control socket is for root only) when it is not there, as systemd's RuntimeDirectory does.
linux_dp::Status make_parent_directories(const DaemonConfig& config) {
  for (const std::string& file : {config.node.control_socket, config.node.state_file}) {
    const std::filesystem::path parent = std::filesystem::path(file).parent_path();
    std::error_code error;
    if (parent.empty() || std::filesystem::exists(parent, error)) continue;
    if (!std::filesystem::create_directories(parent, error))
      return linux_dp::make_error("mkdir " + parent.string(), error.value());
    std::filesystem::permissions(parent, std::filesystem::perms::owner_all, error);
  }
  return {};
}

}  // namespace

nlohmann::json DaemonCounters::to_json() const {
  nlohmann::json out = nlohmann::json::object();
#define MIPV6D_COUNTER_JSON(name) out[#name] = name;
  MIPV6D_DAEMON_COUNTERS(MIPV6D_COUNTER_JSON)
#undef MIPV6D_COUNTER_JSON
  return out;
}

Daemon::Daemon(DaemonConfig config, Logger& logger, linux_dp::EventLoop loop,
               linux_dp::Netlink netlink, linux_dp::NetlinkMonitor monitor, RawSender sender)
    : config_(std::move(config)),
      logger_(logger),
      loop_(std::move(loop)),
      netlink_(std::move(netlink)),
      monitor_(std::move(monitor)),
      sender_(std::move(sender)),
      installed_(netlink_),
      rng_(std::make_unique<SystemRng>()) {}

linux_dp::Result<std::unique_ptr<Daemon>> Daemon::start(DaemonConfig config, Logger& logger) {
  logger.set_level(config.node.log_level);
  auto loop = linux_dp::EventLoop::create();
  if (!loop) return loop.error();
  auto netlink = linux_dp::Netlink::open();
  if (!netlink) return netlink.error();
  auto monitor = linux_dp::NetlinkMonitor::open();
  if (!monitor) return monitor.error();
  auto sender = RawSender::open();
  if (!sender) return sender.error();
  if (auto made = make_parent_directories(config); !made) return made.error();
  std::unique_ptr<Daemon> daemon(new Daemon(std::move(config), logger, std::move(*loop),
                                            std::move(*netlink), std::move(*monitor),
                                            std::move(*sender)));
  linux_dp::Status status = daemon->claim_queue();
  if (!status) {
    // Nothing was installed: a running daemon's objects must not be "recovered" (removed).
    logger.error(kSource, status.error().message);
    daemon->shut_down_ = true;
    return status.error();
  }
  status = daemon->recover();
  if (status) status = daemon->open_intake();
  if (status) status = daemon->start_roles(linux_dp::MonotonicClock::now());
  if (status) daemon->record_state();  // the roles' sysctls (Sysctls has no observer)
  if (status) status = daemon->open_control();
  if (!status) {
    logger.error(kSource, status.error().message);
    (void)daemon->shutdown();
    return status.error();
  }
  return daemon;
}

Daemon::~Daemon() {
  (void)shutdown();
}

// One daemon per network namespace: its NFQUEUE number is the namespace-wide claim, taken before
// anything else, so that a second daemon fails at once instead of "recovering" (removing) the
// kernel objects of the one that runs.
linux_dp::Status Daemon::claim_queue() {
  auto queue =
      linux_dp::NfQueue::open(linux_dp::NfQueueOptions{.queue_number = kDefaultQueueNumber},
                              [this](linux_dp::QueuedPacket& queued) { return on_queued(queued); });
  if (!queue) {
    if (queue.error().code == EPERM)
      return linux_dp::make_error(
          "another mipv6d already runs in this network namespace "
          "(NFQUEUE " +
              std::to_string(kDefaultQueueNumber) + " is taken)",
          EBUSY);
    return queue.error();
  }
  queue_ = std::move(*queue);
  return {};
}

// Crash recovery (issue 8): whatever a predecessor that did not shut down cleanly left in this
// network namespace is recognised by the state file it kept, by route protocol 109 and by the
// ip6tables comment tag, and removed before anything new is installed.
linux_dp::Status Daemon::recover() {
  auto recovered = recover_state(config_.node.state_file, netlink_);
  if (!recovered) return recovered.error();
  auto routes = linux_dp::InstalledState::remove_leftovers(netlink_);
  if (!routes) return routes.error();
  auto ip6tables = linux_dp::Ip6tables::find();
  if (!ip6tables) return ip6tables.error();
  ip6tables_ = std::move(*ip6tables);
  auto rules = linux_dp::Ip6tablesRuleSet::remove_leftovers(*ip6tables_);
  if (!rules) return rules.error();
  const std::size_t total = *recovered + *routes + *rules;
  if (total > 0)
    logger_.warn(kSource, "removed " + std::to_string(total) +
                              " kernel objects left by a previous mipv6d that did not shut down "
                              "cleanly");
  installed_.set_observer([this] { record_state(); });
  // The daemon's own packets (SO_MARK) are routed by the main table, around the roles' TUNs.
  return installed_.install(linux_dp::RuleSpec{.fwmark = kSignallingMark,
                                               .fwmask = 0xffffffffu,
                                               .table = linux_dp::kMainTable,
                                               .priority = kBypassRulePriority});
}

void Daemon::record_state() {
  RecordedState state{installed_.objects(), sysctls_.changed()};
  if (auto written = write_state_file(config_.node.state_file, state); !written)
    logger_.warn(kSource, written.error().message);
}

linux_dp::Status Daemon::open_intake() {
  auto mobility = linux_dp::RawSocket::open_mobility();
  if (!mobility) return mobility.error();
  mobility_socket_ = std::move(*mobility);
  auto icmpv6 = linux_dp::RawSocket::open_icmpv6(kIcmpTypes);
  if (!icmpv6) return icmpv6.error();
  icmpv6_socket_ = std::move(*icmpv6);
  auto tunnel = linux_dp::RawSocket::open_ipv6_in_ipv6();
  if (!tunnel) return tunnel.error();
  tunnel_socket_ = std::move(*tunnel);
  std::vector<linux_dp::RawSocket*> sockets{&*mobility_socket_, &*icmpv6_socket_, &*tunnel_socket_};
  if (config_.security.signalling == Signalling::kEsp) {
    auto esp = linux_dp::RawSocket::open_esp();
    if (!esp) return esp.error();
    esp_socket_ = std::move(*esp);
    sockets.push_back(&*esp_socket_);
  }
  for (linux_dp::RawSocket* socket : sockets) {
    const int buffer = socket == &*tunnel_socket_ ? kTunnelReceiveBuffer : kSignallingReceiveBuffer;
    if (auto sized = socket->set_receive_buffer(buffer); !sized) return sized.error();
    if (auto watched = loop_.watch(socket->fd(), [this, socket] { read_socket(*socket); });
        !watched)
      return watched.error();
  }
  if (auto watched = loop_.watch(queue_->fd(),
                                 [this] {
                                   if (auto processed = queue_->process(); !processed)
                                     logger_.warn(kSource, processed.error().message);
                                 });
      !watched)
    return watched.error();
  if (auto watched = loop_.watch(monitor_.fd(), [this] { read_netlink(); }); !watched)
    return watched.error();
  refresh_local_addresses();
  if (auto signals = loop_.watch_signals({SIGTERM, SIGINT, SIGHUP},
                                         [this](int signal_number) { on_signal(signal_number); });
      !signals)
    return signals.error();
  return install_queue_rules();
}

// DESIGN.md §3: the ip6tables NFQUEUE target in raw PREROUTING, before the kernel's extension
// header processing would drop a Home Address option (RFC 6275 §6.3) or a Type 2 Routing header
// with Segments Left 1 (§6.4). --queue-bypass: while no daemon listens, packets go on unseen.
// Only the rules the roles need: every packet of the namespace is matched against each one.
linux_dp::Status Daemon::install_queue_rules() {
  queue_rules_ = std::make_unique<linux_dp::Ip6tablesRuleSet>(*ip6tables_);
  const linux_dp::QueueRuleOptions options{.queue_number = kDefaultQueueNumber, .bypass = true};
  // A Home Address option reaches a home agent (§10.3.1: BU, MPS) and a correspondent (§9.3.1).
  if (config_.home_agent || config_.has_role(RoleKind::kCorrespondent)) {
    if (auto s = queue_rules_->install(linux_dp::queue_destination_options_rule(options)); !s)
      return s;
  }
  // A Type 2 Routing header reaches a mobile node (§11.3.3: BA, data from a correspondent).
  if (config_.mobile_node)
    return queue_rules_->install(linux_dp::queue_type2_routing_rule(options));
  return {};
}

linux_dp::Status Daemon::start_roles(core::TimePoint now) {
  // Roles keep a reference to what they are lent: it lives as long as the daemon.
  Sender* sender = &sender_;
  security_ = std::make_unique<SignallingSecurity>(
      config_.security,
      config_.mobile_node ? std::optional(config_.mobile_node->home_address) : std::nullopt,
      [] { return linux_dp::ntp_timestamp_now(); });
  if (config_.security.signalling != Signalling::kNone) {
    protecting_sender_ = std::make_unique<ProtectingSender>(sender_, *security_);
    sender = protecting_sender_.get();
  }
  services_ = std::make_unique<Services>(Services{loop_, netlink_, installed_, sysctls_, *sender,
                                                  logger_, *rng_, config_.security.signalling});
  Services& services = *services_;
  // Order matters for dispatch only through role(); start order: home agent first, so that a
  // node that is both home agent and correspondent intercepts before it optimises.
  if (config_.home_agent) {
    roles_.push_back(std::make_unique<HomeAgentRole>(*config_.home_agent, services));
    if (config_.home_agent->direct_tunnel_output) use_direct_tunnel_output();
  }
  if (config_.has_role(RoleKind::kCorrespondent))
    roles_.push_back(
        std::make_unique<CorrespondentRole>(config_.correspondent.value_or(CorrespondentSection{}),
                                            services, config_.has_role(RoleKind::kMobileNode)));
  if (config_.mobile_node)
    roles_.push_back(std::make_unique<MobileNodeRole>(*config_.mobile_node, services));
  for (auto& role : roles_) {
    if (auto started = role->start(now); !started)
      return linux_dp::make_error(
          std::string(role_name(role->kind())) + ": " + started.error().message,
          started.error().code);
    logger_.info(kSource, std::string(role_name(role->kind())) + " started");
  }
  if (config_.security.signalling == Signalling::kNone) {
    logger_.warn(kSource,
                 "security.signalling = \"none\": Binding Updates are not authenticated, so "
                 "anyone who can send packets here can redirect a home address — use this "
                 "only in a lab (\"esp\" or \"auth-option\" protect them)");
  } else {
    logger_.info(kSource, "signalling protected by " +
                              std::string(signalling_name(config_.security.signalling)) + " (" +
                              std::to_string(config_.security.esp.size() +
                                             config_.security.auth_option.size()) +
                              " security associations)");
  }
  return {};
}

linux_dp::Status Daemon::open_control() {
  auto control = ControlServer::open(
      loop_, config_.node.control_socket,
      [this](const nlohmann::json& request) { return handle_request(request); });
  if (!control) return control.error();
  control_ = std::move(*control);
  logger_.info(kSource, "listening on " + config_.node.control_socket);
  return {};
}

linux_dp::Status Daemon::run() {
  return loop_.run();
}

linux_dp::Status Daemon::shutdown() {
  if (shut_down_) return {};
  shut_down_ = true;
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  for (auto it = roles_.rbegin(); it != roles_.rend(); ++it)
    (*it)->stop(now);
  control_.reset();
  linux_dp::Status first;
  auto keep_first = [&first](linux_dp::Status status) {
    if (!status && first) first = std::move(status);
  };
  if (queue_rules_) keep_first(queue_rules_->remove_all());
  keep_first(installed_.remove_all());
  keep_first(sysctls_.restore_all());
  roles_.clear();
  if (first) {
    // Everything is gone: the next start has nothing to recover.
    std::remove(config_.node.state_file.c_str());
    logger_.info(kSource,
                 "stopped; every route, rule, address, proxy entry, ip6tables rule and "
                 "sysctl it changed was removed or restored");
  } else {
    logger_.error(kSource, "shutdown incomplete: " + first.error().message);
  }
  return first;
}

// ---------------------------------------------------------------------------------------------
// Intake

void Daemon::read_socket(linux_dp::RawSocket& socket) {
  constexpr std::size_t kBatch = linux_dp::RawSocket::kBatchSize;
  // One recvmmsg() per burst (a tunnel endpoint takes a TCP window of segments at a time); each
  // payload lands after room for the IPv6 header, rebuilt in place.
  static std::vector<std::byte> slots(kBatch * kPacketBuffer);
  static const auto buffers = [] {
    std::array<std::span<std::byte>, kBatch> spans;
    for (std::size_t i = 0; i < kBatch; ++i)
      spans[i] = std::span(slots).subspan(i * kPacketBuffer + wire::kIpv6HeaderSize,
                                          kPacketBuffer - wire::kIpv6HeaderSize);
    return spans;
  }();
  static std::array<linux_dp::ReceivedPacket, kBatch> packets;
  // Bounded, like NfQueue::process(): under a flood one socket never runs dry, and reading it
  // to the end would starve the queue, the other sockets and the timers (found by
  // tests/daemon/test_flood.py). epoll is level-triggered: the rest waits for the next round.
  for (int read = 0; read < kMaxReadsPerWakeup;) {
    auto received = socket.receive_batch(buffers, packets);
    if (!received) {
      if (received.error().code != EAGAIN && received.error().code != EWOULDBLOCK)
        ++counters_.receive_errors;
      return;
    }
    for (std::size_t i = 0; i < *received; ++i) {
      if (packets[i].truncated) {
        ++counters_.dropped_truncated;
        continue;
      }
      on_received(socket, packets[i], std::span(slots).subspan(i * kPacketBuffer, kPacketBuffer));
    }
    if (*received < kBatch) return;  // the queue is empty
    read += static_cast<int>(*received);
  }
}

void Daemon::on_received(const linux_dp::RawSocket& socket,
                         const linux_dp::ReceivedPacket& received, std::span<std::byte> slot) {
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  const auto protocol = static_cast<std::uint8_t>(socket.protocol());
  const wire::ByteSpan packet = rebuild_packet(received, protocol, slot);
  if (protocol == linux_dp::kProtocolIpv6InIpv6) {
    ++counters_.tunnelled_received;
    on_tunnelled(packet, received.ifindex, now);
    return;
  }
  if (protocol == linux_dp::kProtocolEsp) {
    auto rx = core::make_rx_packet(packet, received.ifindex);
    if (!rx) {
      ++counters_.dropped_malformed;
      return;
    }
    on_esp(packet, rx->layout, received.ifindex, now);
    return;
  }
  if (protocol == linux_dp::kProtocolMobility) {
    ++counters_.mh_received;
  } else {
    ++counters_.icmpv6_received;
  }
  auto rx = core::make_rx_packet(packet, received.ifindex);
  if (!rx) {
    ++counters_.dropped_malformed;
    return;
  }
  dispatch_signalling(*rx, now);
}

void Daemon::on_tunnelled(wire::ByteSpan outer, std::uint32_t ifindex, core::TimePoint now,
                          core::Protection protection, std::uint32_t spi) {
  auto rx = core::make_rx_packet(outer, ifindex);
  if (!rx) {
    ++counters_.dropped_malformed;
    return;
  }
  rx->protection = protection;
  rx->spi = spi;
  auto inner = wire::decapsulate(outer, rx->layout);
  if (!inner) {
    ++counters_.dropped_malformed;
    return;
  }
  if (!security_->admit_tunnelled(*rx, *inner)) return;  // counted there
  for (RoleKind kind : {RoleKind::kHomeAgent, RoleKind::kMobileNode}) {
    Role* r = role(kind);
    if (r != nullptr && r->on_tunnelled(*rx, *inner, now)) return;
  }
  ++counters_.dropped_tunnel_not_ours;
}

// ESP (issue 7): opened with the SA its SPI names, checked against the policy, then handled as
// if it had arrived in the clear, with the protection noted for the engines.
void Daemon::on_esp(wire::ByteSpan packet, const wire::PacketLayout& layout, std::uint32_t ifindex,
                    core::TimePoint now) {
  auto opened = security_->open(packet, layout);
  if (!opened) return;  // counted by the security layer
  if (opened->protection == core::Protection::kEspTunnel) {
    on_tunnelled(opened->packet, ifindex, now, opened->protection, opened->spi);
    return;
  }
  auto rx = core::make_rx_packet(opened->packet, ifindex);
  if (!rx) {
    ++counters_.dropped_malformed;
    return;
  }
  rx->protection = opened->protection;
  rx->spi = opened->spi;
  if (rx->layout.upper_protocol != wire::ip_proto::kMobility &&
      rx->layout.upper_protocol != wire::ip_proto::kIcmpv6) {
    ++counters_.dropped_malformed;
    return;
  }
  dispatch_signalling(*rx, now);
}

void Daemon::dispatch_signalling(core::RxPacket& packet, core::TimePoint now) {
  if (!security_->admit(packet)) return;  // counted by the security layer
  if (packet.layout.upper_protocol == wire::ip_proto::kMobility) {
    dispatch_mobility(packet, now);
  } else {
    dispatch_icmpv6(packet, now);
  }
}

// Which role a Mobility Header message is for (RFC 6275 §9, §10, §11): a Binding Update by its H
// flag (§10.1 tells home registrations apart by it), the return-routability inits and anything
// unknown or malformed to the correspondent (which answers §9.2's errors), what a mobile node
// receives to the mobile node.
void Daemon::dispatch_mobility(const core::RxPacket& packet, core::TimePoint now) {
  const wire::ByteSpan mh = packet.upper();
  std::optional<RoleKind> target;
  if (mh.size() >= 3) {
    switch (static_cast<std::uint8_t>(mh[2])) {
      case wire::kMhTypeBindingUpdate: {
        const bool home = mh.size() >= 9 && (static_cast<std::uint8_t>(mh[8]) & 0x40) != 0;
        if (home) target = RoleKind::kHomeAgent;
        if (!home) target = RoleKind::kCorrespondent;
        break;
      }
      case wire::kMhTypeHomeTestInit:
      case wire::kMhTypeCareOfTestInit:
        target = RoleKind::kCorrespondent;
        break;
      case wire::kMhTypeBindingRefreshRequest:
      case wire::kMhTypeHomeTest:
      case wire::kMhTypeCareOfTest:
      case wire::kMhTypeBindingAcknowledgement:
      case wire::kMhTypeBindingError:
        target = RoleKind::kMobileNode;
        break;
      default:
        break;
    }
  }
  Role* r = target ? role(*target) : nullptr;
  if (r == nullptr) {
    for (RoleKind fallback :
         {RoleKind::kCorrespondent, RoleKind::kHomeAgent, RoleKind::kMobileNode}) {
      if ((r = role(fallback)) != nullptr) break;
    }
  }
  if (r == nullptr) {
    ++counters_.dropped_no_role;
    return;
  }
  r->on_signalling(packet, now);
}

void Daemon::dispatch_icmpv6(const core::RxPacket& packet, core::TimePoint now) {
  const auto type = icmpv6_type(packet);
  if (!type) {
    ++counters_.dropped_malformed;
    return;
  }
  std::vector<Role*> targets;
  auto add = [&targets, this](RoleKind kind) {
    if (Role* r = role(kind)) targets.push_back(r);
  };
  switch (*type) {
    case kDhaadRequest:
    case kPrefixSolicitation:
      add(RoleKind::kHomeAgent);
      break;
    case kDhaadReply:
    case kPrefixAdvertisement:
      add(RoleKind::kMobileNode);
      break;
    case kRouterAdvertisement:
      if (config_.home_agent) {
        auto home = netlink_.link_index(config_.home_agent->interface);
        if (home && *home == packet.ifindex) add(RoleKind::kHomeAgent);
      }
      add(RoleKind::kMobileNode);
      break;
    case kNeighborSolicitation:
    case kNeighborAdvertisement:
      add(RoleKind::kMobileNode);
      add(RoleKind::kHomeAgent);
      break;
    default:
      if (*type < 128) {  // RFC 4443 errors concern every role's packets
        for (auto& r : roles_)
          targets.push_back(r.get());
      }
      break;
  }
  if (targets.empty()) {
    ++counters_.dropped_no_role;
    return;
  }
  for (Role* r : targets)
    r->on_signalling(packet, now);
}

// Packets with a Destination Options header or a Type 2 Routing header, before the kernel sees
// them. Signalling is consumed here (the engine answers; the kernel would drop a Home Address
// option anyway); data goes to the role that can rewrite it (§9.3.1 correspondent, §11.3.3
// mobile node) and then to the kernel.
linux_dp::Verdict Daemon::on_queued(linux_dp::QueuedPacket& queued) {
  ++counters_.queued_received;
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  auto rx = core::make_rx_packet(queued.packet, queued.in_ifindex);
  if (!rx) {
    ++counters_.dropped_malformed;
    return linux_dp::Verdict::drop();
  }
  const wire::Ipv6Address& destination = rx->layout.ipv6.destination;
  if (!destination.is_multicast() && !is_local(destination)) {
    ++counters_.queued_not_local;  // forwarded traffic: not ours to look into
    return linux_dp::Verdict::accept();
  }
  if (!rx->layout.home_address && !rx->layout.type2_address)
    return linux_dp::Verdict::accept();  // other destination options: the kernel's business
  if (rx->layout.upper_protocol == wire::ip_proto::kEsp) {
    // A BU or MPS (Home Address option) or a BA or MPA (Type 2 header) in ESP transport mode:
    // ours to open; the kernel has no SA and would drop it.
    if (security_->mode() != Signalling::kEsp) {
      ++counters_.dropped_malformed;
      return linux_dp::Verdict::drop();
    }
    on_esp(queued.packet, rx->layout, queued.in_ifindex, now);
    return linux_dp::Verdict::drop();
  }
  if (is_signalling(*rx)) {
    ++counters_.queued_signalling;
    dispatch_signalling(*rx, now);
    return linux_dp::Verdict::drop();
  }
  // A Home Address option goes to the correspondent, which also applies a Type 2 header on the
  // same packet when this node is a mobile node too (mobile node to mobile node, §9.3.1 and
  // §11.3.3 on one packet); a Type 2 header alone goes to the mobile node.
  if (rx->layout.home_address) {
    if (Role* cn = role(RoleKind::kCorrespondent)) {
      if (auto verdict = cn->on_queued(queued, *rx, now)) return *verdict;
    }
    ++counters_.dropped_hao_without_correspondent;
    return linux_dp::Verdict::drop();
  }
  if (Role* mn = role(RoleKind::kMobileNode)) {
    if (auto verdict = mn->on_queued(queued, *rx, now)) return *verdict;
  }
  ++counters_.dropped_type2_without_mobile_node;
  return linux_dp::Verdict::drop();
}

// Only a speed-up: without it the tunnel works as well, through the kernel's output.
void Daemon::use_direct_tunnel_output() {
  if (auto direct = sender_.use_direct_tunnel_output(); !direct) {
    logger_.warn(kSource, "home_agent.direct_tunnel_output: " + direct.error().message +
                              "; tunnel packets go through the kernel's IPv6 output");
    return;
  }
  logger_.debug(kSource, "tunnel packets go straight to their next hop (a packet socket)");
}

void Daemon::read_netlink() {
  auto events = monitor_.read_events();
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  if (!events) {
    if (events.error().code == ENOBUFS) {
      // Events were lost: the mirrored state is re-read (route_netlink.h).
      ++counters_.netlink_overruns;
      refresh_local_addresses();
      sender_.forget_next_hops();
    }
    return;
  }
  // A route, link or address change may change where a care-of address is reached.
  if (!events->empty()) sender_.forget_next_hops();
  for (const linux_dp::NetlinkEvent& event : *events) {
    if (const auto* address = std::get_if<linux_dp::AddressEvent>(&event)) {
      if (address->added) {
        local_addresses_.insert(address->address);
      } else {
        local_addresses_.erase(address->address);
      }
    }
    for (auto& r : roles_)
      r->on_netlink(event, now);
  }
}

void Daemon::refresh_local_addresses() {
  auto addresses = netlink_.dump_addresses();
  if (!addresses) {
    logger_.warn(kSource, addresses.error().message);
    return;
  }
  local_addresses_.clear();
  for (const linux_dp::AddressInfo& info : *addresses)
    local_addresses_.insert(info.address);
}

bool Daemon::is_local(const wire::Ipv6Address& address) const {
  return local_addresses_.contains(address);
}

Role* Daemon::role(RoleKind kind) const {
  for (const auto& r : roles_) {
    if (r->kind() == kind) return r.get();
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------------
// Control

void Daemon::on_signal(int signal_number) {
  if (signal_number == SIGHUP) {
    (void)reload();
    return;
  }
  logger_.info(kSource,
               signal_number == SIGINT ? "SIGINT: shutting down" : "SIGTERM: shutting down");
  loop_.stop();
}

nlohmann::json Daemon::handle_request(const nlohmann::json& request) {
  ++counters_.control_requests;
  const std::string command = request.value("command", "");
  if (command == "show") return show(request.value("table", ""));
  if (command == "reload") return reload();
  if (command == "flush") return flush();
  return {{"ok", false}, {"error", "unknown command \"" + command + "\""}};
}

nlohmann::json Daemon::show(const std::string& table) {
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  nlohmann::json result;
  if (table == "config") {
    result = to_json(config_);
  } else if (table == "stats") {
    result["daemon"] = counters_.to_json();
    result["daemon"]["packets_sent"] = sender_.sent();
    result["daemon"]["send_failed"] = sender_.failed();
    result["daemon"]["packets_sent_direct"] = sender_.sent_direct();
    if (queue_) {
      result["daemon"]["nfqueue_overruns"] = queue_->stats().overruns;
      result["daemon"]["nfqueue_dropped"] = queue_->stats().dropped;
    }
    for (const auto& r : roles_)
      result[std::string(role_name(r->kind()))] = r->stats();
    if (security_) result["security"] = security_->stats();
  } else if (table == "bc") {
    result["bindings"] = nlohmann::json::array();
    for (const auto& r : roles_) {
      nlohmann::json part = r->show("bc", now);
      if (part.is_object() && part.contains("bindings"))
        for (auto& entry : part["bindings"])
          result["bindings"].push_back(entry);
    }
  } else if (table == "bul" || table == "hal") {
    const RoleKind owner = table == "bul" ? RoleKind::kMobileNode : RoleKind::kHomeAgent;
    Role* r = role(owner);
    if (r == nullptr)
      return {{"ok", false},
              {"error", "this mipv6d does not run the " + std::string(role_name(owner)) + " role"}};
    result = r->show(table, now);
  } else {
    return {{"ok", false}, {"error", "unknown table \"" + table + "\""}};
  }
  return {{"ok", true}, {"result", result}};
}

// SIGHUP and `mipv6ctl reload`: the file is read again; if it is not valid the daemon keeps the
// configuration it runs with (and says why). What cannot change without a restart is named.
nlohmann::json Daemon::reload() {
  ++counters_.reloads;
  auto fresh = load_config(config_.path);
  if (!fresh) {
    ++counters_.reload_failures;
    logger_.error(kSource, "reload: " + fresh.error().message + " (configuration unchanged)");
    return {{"ok", false}, {"error", fresh.error().message}};
  }
  std::vector<std::string> restart;
  if (fresh->node.roles != config_.node.roles) restart.push_back("node.roles");
  if (fresh->node.control_socket != config_.node.control_socket)
    restart.push_back("node.control_socket");
  if (fresh->node.state_file != config_.node.state_file) restart.push_back("node.state_file");
  // SAs keep sequence numbers and replay windows: they are built once, at start (keys too).
  if (to_json(*fresh)["security"] != to_json(config_)["security"]) restart.push_back("security");
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  for (auto& r : roles_) {
    for (std::string& key : r->reload(*fresh, now))
      restart.push_back(std::move(key));
  }
  logger_.set_level(fresh->node.log_level);
  config_.node.log_level = fresh->node.log_level;
  std::string message = "reloaded " + config_.path;
  if (!restart.empty()) {
    message += "; these settings change only at the next start:";
    for (const std::string& key : restart)
      message += " " + key;
  }
  logger_.info(kSource, message);
  nlohmann::json result = {{"message", message}, {"restart_needed", restart}};
  return {{"ok", true}, {"result", result}};
}

nlohmann::json Daemon::flush() {
  const core::TimePoint now = linux_dp::MonotonicClock::now();
  nlohmann::json done = nlohmann::json::object();
  for (auto& r : roles_) {
    const std::string what = r->flush(now);
    logger_.info(kSource, "flush: " + std::string(role_name(r->kind())) + ": " + what);
    done[std::string(role_name(r->kind()))] = what;
  }
  return {{"ok", true}, {"result", done}};
}

}  // namespace mipv6::daemon
