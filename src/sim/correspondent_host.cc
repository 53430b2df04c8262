#include "sim/correspondent_host.h"

#include <utility>

#include "core/signalling.h"
#include "wire/icmpv6.h"
#include "wire/ipv6.h"

namespace mipv6::sim {

CorrespondentHost::CorrespondentHost(Scheduler& scheduler, std::string name, HostConfig config,
                                     std::uint64_t seed)
    : Host(scheduler, std::move(name), config), rng_(seed) {
  set_packet_callback([this](Interface& in, const Frame& f) { on_packet(in, f); });
}

CorrespondentHost::~CorrespondentHost() {
  scheduler().cancel(cbr_event_);
  scheduler().cancel(udp_.event);
}

void CorrespondentHost::start(core::CorrespondentNodeConfig config) {
  config_ = std::move(config);
  timer_.reset();
  engine_ = std::make_unique<core::CorrespondentNode>(config_, rng_, scheduler().now());
  timer_ = std::make_unique<EngineTimer>(scheduler(), *engine_, [this] { drain(); });
  drain();
}

// §9.5: the Binding Cache and the nonces live in memory only; the new engine draws a new Kcn
// (§5.2.7), so tokens the mobile node holds no longer verify.
void CorrespondentHost::reboot() {
  ++reboots_;
  start(config_);
}

void CorrespondentHost::on_packet(Interface& in, const Frame& frame) {
  if (!engine_) return;
  auto rx = core::make_rx_packet(frame.packet, in.ifindex());
  if (!rx) return;
  const TimePoint now = scheduler().now();
  // §9.3.1: a Home Address option is accepted only as the engine says (MH carrying one, e.g. a
  // BU, is processed by the engine itself).
  if (rx->layout.upper_protocol != wire::ip_proto::kMobility &&
      engine_->check_home_address_option(*rx, now) == core::HaoVerdict::kDrop) {
    ++hao_rejected_;
    drain();
    return;
  }
  engine_->on_packet(*rx, now);
  note_reply(*rx);
  note_udp(*rx);
  drain();
}

// §9.3.1: a datagram with a Home Address option that passed the check came route-optimised.
void CorrespondentHost::note_udp(const core::RxPacket& packet) {
  auto sequence = udp_cbr_sequence(packet);
  if (!sequence) return;
  udp_received_.push_back(
      UdpReceived{*sequence, scheduler().now(),
                  packet.layout.home_address ? PathKind::kRouteOptimized : PathKind::kHome});
}

void CorrespondentHost::note_reply(const core::RxPacket& packet) {
  if (packet.layout.upper_protocol != wire::ip_proto::kIcmpv6) return;
  auto message = wire::decode_icmpv6(packet.upper());
  if (!message) return;
  const auto* reply = std::get_if<wire::EchoReply>(&message->body);
  if (reply == nullptr || reply->identifier != kCbrIdentifier) return;
  replies_.push_back(
      CbrReply{reply->sequence_number, scheduler().now(), packet.layout.home_address.has_value()});
}

void CorrespondentHost::drain() {
  for (auto actions = engine_->take_actions(); !actions.empty();
       actions = engine_->take_actions()) {
    for (core::Action& action : actions) {
      if (auto* transmit = std::get_if<core::Transmit>(&action)) send(std::move(transmit->packet));
      // BindingRoute: care_of_address_for() is asked for every packet sent (§9.3.2).
    }
  }
  timer_->rearm();
}

void CorrespondentHost::start_cbr(const wire::Ipv6Address& source,
                                  const wire::Ipv6Address& home_address, Duration interval,
                                  TimePoint from, TimePoint until) {
  cbr_source_ = source;
  cbr_destination_ = home_address;
  cbr_interval_ = interval;
  cbr_until_ = until;
  scheduler().cancel(cbr_event_);
  cbr_event_ = scheduler().schedule(from, [this] { send_cbr(); });
}

// §9.3.2: with a binding, to the care-of address with a Type 2 Routing header holding the home
// address; otherwise to the home address (the home agent intercepts it).
void CorrespondentHost::send_cbr() {
  const TimePoint now = scheduler().now();
  if (now >= cbr_until_) return;
  cbr_event_ = scheduler().schedule_in(cbr_interval_, [this] { send_cbr(); });
  wire::EchoRequest echo;
  echo.identifier = kCbrIdentifier;
  echo.sequence_number = static_cast<std::uint16_t>(cbr_.size());
  wire::Icmpv6Message message;
  message.body = echo;
  auto care_of = engine_ ? engine_->care_of_address_for(cbr_destination_, now) : std::nullopt;
  std::optional<wire::Ipv6Address> type2;
  if (care_of) type2 = cbr_destination_;
  cbr_.push_back(CbrSent{echo.sequence_number, now, care_of.has_value()});
  send(core::build_icmpv6_packet(
      {cbr_source_, care_of.value_or(cbr_destination_), std::nullopt, type2, 64}, message));
  if (engine_) drain();
}

}  // namespace mipv6::sim

namespace mipv6::sim {

void CorrespondentHost::start_udp_cbr(const wire::Ipv6Address& source,
                                      const wire::Ipv6Address& destination, Duration interval,
                                      std::size_t payload, TimePoint from, TimePoint until) {
  scheduler().cancel(udp_.event);
  udp_ = UdpSource{source, destination, interval, payload, until, {}};
  udp_.event = scheduler().schedule(from, [this] { send_udp(); });
}

// §9.3.2: with a binding, to the care-of address with a Type 2 Routing header holding the home
// address; otherwise to the home address (the home agent intercepts it, §10.4.1).
void CorrespondentHost::send_udp() {
  const TimePoint now = scheduler().now();
  if (now >= udp_.until) return;
  udp_.event = scheduler().schedule_in(udp_.interval, [this] { send_udp(); });
  auto care_of = engine_ ? engine_->care_of_address_for(udp_.destination, now) : std::nullopt;
  std::optional<wire::Ipv6Address> type2;
  if (care_of) type2 = udp_.destination;
  const auto sequence = static_cast<std::uint32_t>(udp_sent_.size());
  udp_sent_.push_back(UdpSent{sequence, now, care_of.has_value(),
                              care_of ? PathKind::kRouteOptimized : PathKind::kHome});
  send(build_udp_cbr_packet(
      {udp_.source, care_of.value_or(udp_.destination), std::nullopt, type2, 64}, sequence,
      udp_.payload));
  if (engine_) drain();
}

}  // namespace mipv6::sim
