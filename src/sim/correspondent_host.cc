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
}

void CorrespondentHost::start(core::CorrespondentNodeConfig config) {
  engine_ = std::make_unique<core::CorrespondentNode>(std::move(config), rng_, scheduler().now());
  timer_ = std::make_unique<EngineTimer>(scheduler(), *engine_, [this] { drain(); });
  drain();
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
  drain();
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
