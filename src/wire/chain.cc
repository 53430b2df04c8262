#include "wire/chain.h"

#include <algorithm>

#include "wire/checksum.h"
#include "wire/extension_headers.h"

namespace mipv6::wire {
namespace {

// One walk over one packet. Each header step consumes its header from `reader_` and returns
// the Next Header value it carries, with the offset of that octet.
class Walker {
 public:
  Walker(ByteSpan packet, PacketLayout& layout, const ChainLimits& limits)
      : layout_(layout),
        limits_(limits),
        reader_(packet.first(layout.packet_length())),
        max_headers_(std::min(limits.max_headers, kMaxChainCapacity)) {}

  Status run() {
    MIPV6_CHECK(reader_.skip(kIpv6HeaderSize));
    std::uint8_t next = layout_.ipv6.next_header;
    std::size_t next_offset = 6;  // the IPv6 header's Next Header octet
    while (!done_) {
      MIPV6_CHECK(step(next, next_offset));
    }
    return {};
  }

 private:
  Status step(std::uint8_t& next, std::size_t& next_offset) {
    if (!is_extension_header(next)) return finish(next, next_offset);
    // RFC 8200 §4.1: Hop-by-Hop Options only immediately after the IPv6 header.
    if (next == ip_proto::kHopByHop && layout_.header_count != 0) {
      return WireError{WireErrc::kBadOrder, next_offset};
    }
    std::size_t start = reader_.offset();
    if (layout_.header_count >= max_headers_) return WireError{WireErrc::kChainTooLong, start};
    switch (next) {
      case ip_proto::kRouting:
        MIPV6_CHECK(routing(next));
        break;
      case ip_proto::kFragment:
        MIPV6_CHECK(fragment(next));
        break;
      case ip_proto::kAuthentication:
        MIPV6_CHECK(authentication(next));
        break;
      case ip_proto::kEsp:
        layout_.upper_next_header_offset = next_offset;  // the octet that named ESP
        MIPV6_CHECK(esp());
        break;
      default:
        MIPV6_CHECK(options(next));
        break;
    }
    next_offset = start;  // every header but ESP starts with its Next Header octet
    MIPV6_CHECK(record(start));
    // RFC 8200 §4.5: a non-first fragment holds only a piece of the fragmentable part, so the
    // walk stops and its data is reported as the (incomplete) upper layer.
    if (!layout_.first_fragment && !done_) return finish(next, next_offset);
    return {};
  }

  static bool is_extension_header(std::uint8_t type) {
    switch (type) {
      case ip_proto::kHopByHop:
      case ip_proto::kDestinationOptions:
      case ip_proto::kRouting:
      case ip_proto::kFragment:
      case ip_proto::kAuthentication:
      case ip_proto::kEsp:
        return true;
      default:
        return false;
    }
  }

  // Adds the header that started at `start` and ends at the reader, checking the byte budget.
  Status record(std::size_t start) {
    std::size_t length = reader_.offset() - start;
    // ESP's opaque payload is data, not header: it does not count against the byte budget.
    if (current_type_ != ip_proto::kEsp) extension_bytes_ += length;
    if (extension_bytes_ > limits_.max_extension_bytes) {
      return WireError{WireErrc::kChainTooLong, start};
    }
    layout_.headers[layout_.header_count++] = {current_type_, start, length};
    return {};
  }

  Status finish(std::uint8_t protocol, std::size_t next_offset) {
    layout_.upper_protocol = protocol;
    layout_.upper_offset = reader_.offset();
    layout_.upper_length = reader_.remaining();
    layout_.upper_next_header_offset = next_offset;
    done_ = true;
    return {};
  }

  Status options(std::uint8_t& next) {
    current_type_ = next;
    MIPV6_TRY(OptionsHeader header, decode_options_header(reader_));
    OptionCursor cursor(header);
    std::size_t count = 0;
    std::size_t padding = 0;
    while (!cursor.done()) {
      MIPV6_TRY(TlvOption option, cursor.next());
      if (++count > limits_.max_options_per_header) {
        return WireError{WireErrc::kChainTooLong, option.offset};
      }
      if (option.option_type == option_type::kPad1 || option.option_type == option_type::kPadN) {
        // RFC 8504 §5.3: long runs of padding are a resource-exhaustion vector.
        padding += option.size();
        if (padding > limits_.max_padding_bytes) {
          return WireError{WireErrc::kChainTooLong, option.offset};
        }
        continue;
      }
      padding = 0;
      MIPV6_CHECK(check_option(option, header.offset));
      if (next == ip_proto::kDestinationOptions &&
          option.option_type == option_type::kHomeAddress) {
        MIPV6_CHECK(home_address_option(option));
      }
    }
    next = header.next_header;
    return {};
  }

  Status home_address_option(const TlvOption& option) {
    // RFC 6275 §6.3: at most one Home Address option per IPv6 header ...
    if (layout_.home_address) return WireError{WireErrc::kBadValue, option.offset};
    // ... placed before any Fragment, AH or ESP header.
    if (past_fragment_or_ipsec_) return WireError{WireErrc::kBadOrder, option.offset};
    layout_.home_address = home_address_of(option);
    layout_.home_address_option_offset = option.offset;
    return {};
  }

  Status routing(std::uint8_t& next) {
    current_type_ = ip_proto::kRouting;
    MIPV6_TRY(RoutingHeader header, decode_routing_header(reader_));
    // RFC 6275 §6.3: the Home Address option comes after the routing header.
    if (layout_.home_address) return WireError{WireErrc::kBadOrder, header.offset};
    if (header.routing_type == routing_type::kType2 && !layout_.type2_address) {
      layout_.type2_address = header.address(0);
      layout_.type2_offset = header.offset;
      layout_.type2_segments_left = header.segments_left;
    }
    // RFC 8200 §8.1: the last routing header with segments left names the final destination.
    if (auto final = header.final_destination()) layout_.routing_final_destination = final;
    next = header.next_header;
    return {};
  }

  Status fragment(std::uint8_t& next) {
    current_type_ = ip_proto::kFragment;
    MIPV6_TRY(FragmentHeader header, decode_fragment_header(reader_));
    past_fragment_or_ipsec_ = true;
    layout_.fragmented = true;
    layout_.first_fragment = header.fragment_offset == 0;
    layout_.more_fragments = header.m_flag;
    // A first fragment carries the whole header chain (RFC 7112), so the walk goes on there.
    next = header.next_header;
    return {};
  }

  Status authentication(std::uint8_t& next) {
    current_type_ = ip_proto::kAuthentication;
    MIPV6_TRY(AuthenticationHeader header, decode_authentication_header(reader_));
    past_fragment_or_ipsec_ = true;
    next = header.next_header;
    return {};
  }

  // RFC 4303: everything after SPI and Sequence Number is opaque; the walk ends with ESP as
  // the upper layer.
  Status esp() {
    current_type_ = ip_proto::kEsp;
    std::size_t start = reader_.offset();
    if (!reader_.has(kEspHeaderSize)) return WireError{WireErrc::kTruncated, start};
    layout_.upper_protocol = ip_proto::kEsp;
    layout_.upper_offset = start;
    layout_.upper_length = reader_.remaining();
    MIPV6_CHECK(reader_.skip(reader_.remaining()));
    done_ = true;
    return {};
  }

  PacketLayout& layout_;
  const ChainLimits& limits_;
  Reader reader_;
  std::size_t max_headers_;
  std::size_t extension_bytes_ = 0;
  std::uint8_t current_type_ = 0;
  bool past_fragment_or_ipsec_ = false;
  bool done_ = false;
};

}  // namespace

Status walk_chain_into(ByteSpan packet, PacketLayout& layout, const ChainLimits& limits) {
  layout = PacketLayout{};
  MIPV6_TRY(layout.ipv6, decode_ipv6_header(packet));
  return Walker(packet, layout, limits).run();
}

Expected<PacketLayout> walk_chain(ByteSpan packet, const ChainLimits& limits) {
  PacketLayout layout;
  MIPV6_CHECK(walk_chain_into(packet, layout, limits));
  return layout;
}

PseudoHeaderAddresses pseudo_header_addresses(const PacketLayout& layout) {
  // RFC 6275 §6.3, §11.3.1: the home address replaces the source in upper-layer checksums.
  // RFC 8200 §8.1, RFC 6275 §6.4: the destination is the final one, after routing.
  return {layout.home_address.value_or(layout.ipv6.source),
          layout.routing_final_destination.value_or(layout.ipv6.destination)};
}

std::optional<std::size_t> checksum_field_offset(std::uint8_t protocol) {
  switch (protocol) {
    case ip_proto::kMobility:
      return 4;
    case ip_proto::kIcmpv6:
      return 2;
    case ip_proto::kUdp:
      return 6;
    case ip_proto::kTcp:
      return 16;
    default:
      return std::nullopt;
  }
}

Status verify_upper_checksum(ByteSpan packet, const PacketLayout& layout) {
  auto field = checksum_field_offset(layout.upper_protocol);
  if (!field || !layout.upper_complete()) {
    return WireError{WireErrc::kUnsupported, layout.upper_offset};
  }
  if (layout.upper_length < *field + 2) {
    return WireError{WireErrc::kTruncated, layout.upper_offset + layout.upper_length};
  }
  ByteSpan upper = packet.subspan(layout.upper_offset, layout.upper_length);
  std::size_t field_offset = layout.upper_offset + *field;
  // RFC 8200 §8.1: a zero UDP checksum is not allowed over IPv6.
  if (layout.upper_protocol == ip_proto::kUdp && load_be16(&upper[*field]) == 0) {
    return WireError{WireErrc::kBadChecksum, field_offset};
  }
  auto addresses = pseudo_header_addresses(layout);
  if (upper_layer_checksum(addresses.source, addresses.destination, layout.upper_protocol, upper) !=
      0) {
    return WireError{WireErrc::kBadChecksum, field_offset};
  }
  return {};
}

}  // namespace mipv6::wire
