// Test helpers shared by the engine tests: turn built packets into RxPackets for on_packet(),
// and turn the actions an engine queued back into decoded packets (IPv6 layout + Mobility
// Header or ICMPv6 message), log lines and other actions. Generic: any Engine.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/engine.h"
#include "wire/chain.h"
#include "wire/icmpv6.h"
#include "wire/mobility.h"

namespace mipv6::core::shuttle {

// Walks `bytes` into an RxPacket; `bytes` must outlive it. A packet that does not walk is a
// test bug (use make_rx_packet directly to feed broken packets).
inline RxPacket rx(const wire::Bytes& bytes, std::uint32_t ifindex = 1) {
  auto packet = make_rx_packet(bytes, ifindex);
  EXPECT_TRUE(packet.has_value()) << "input packet does not walk";
  return packet ? *packet : RxPacket{};
}

// Feeds one packet and returns what the engine queued.
inline std::vector<Action> feed(Engine& engine, const wire::Bytes& bytes, TimePoint now,
                                std::uint32_t ifindex = 1) {
  engine.on_packet(rx(bytes, ifindex), now);
  return engine.take_actions();
}

template <class T>
std::vector<T> actions_of(const std::vector<Action>& actions) {
  std::vector<T> out;
  for (const auto& action : actions) {
    if (const T* found = std::get_if<T>(&action)) out.push_back(*found);
  }
  return out;
}

inline std::vector<std::string> log_lines(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const auto& log : actions_of<Log>(actions))
    out.push_back(log.message);
  return out;
}

// A transmitted packet, decoded.
struct Sent {
  wire::Bytes bytes;
  wire::PacketLayout layout;
  std::optional<wire::MobilityHeader> mh;
  std::optional<wire::Icmpv6Message> icmp;
  bool checksum_valid = false;

  wire::ByteSpan upper() const {
    return wire::ByteSpan(bytes).subspan(layout.upper_offset, layout.upper_length);
  }
  template <class M>
  const M* message() const {
    return mh ? std::get_if<M>(&mh->message) : nullptr;
  }
  template <class B>
  const B* icmp_body() const {
    return icmp ? std::get_if<B>(&icmp->body) : nullptr;
  }
};

inline Sent decode_sent(const Transmit& transmit) {
  Sent sent;
  sent.bytes = transmit.packet;
  auto layout = wire::walk_chain(sent.bytes);
  EXPECT_TRUE(layout.has_value()) << "transmitted packet does not walk";
  if (!layout) return sent;
  sent.layout = *layout;
  sent.checksum_valid = wire::verify_upper_checksum(sent.bytes, sent.layout).has_value();
  if (sent.layout.upper_protocol == wire::kIpProtoMobility) {
    auto mh = wire::decode_mobility_header(sent.upper());
    EXPECT_TRUE(mh.has_value()) << "transmitted Mobility Header does not decode";
    if (mh) sent.mh = std::move(*mh);
  } else if (sent.layout.upper_protocol == wire::kIcmpv6NextHeader) {
    auto icmp = wire::decode_icmpv6(sent.upper());
    EXPECT_TRUE(icmp.has_value()) << "transmitted ICMPv6 message does not decode";
    if (icmp) sent.icmp = std::move(*icmp);
  }
  return sent;
}

inline std::vector<Sent> sent_packets(const std::vector<Action>& actions) {
  std::vector<Sent> out;
  for (const auto& transmit : actions_of<Transmit>(actions))
    out.push_back(decode_sent(transmit));
  return out;
}

}  // namespace mipv6::core::shuttle
