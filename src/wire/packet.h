// Building whole IPv6 packets: header + extension headers + upper layer, with the derived fields
// (Payload Length, Next Header chain, Hdr Ext Len / Payload Len, upper-layer checksum) filled in
// unless pinned; and IPv6-in-IPv6 encapsulation (RFC 2473 §3), which the home agent's tunnel
// (RFC 6275 §10.4.1) and the mobile node's reverse tunnel (§11.3.1) use.
#pragma once

#include <cstdint>
#include <vector>

#include "wire/address.h"
#include "wire/bytes.h"
#include "wire/chain.h"
#include "wire/expected.h"
#include "wire/extension_headers.h"
#include "wire/ipv6.h"

namespace mipv6::wire {

struct PacketSpec {
  Ipv6Header header;  // Payload Length and Next Header are computed unless pinned below
  bool pin_payload_length = false;
  bool pin_next_header = false;
  std::vector<ExtensionHeader> extension_headers;  // in wire order
  std::uint8_t upper_protocol = ip_proto::kNoNextHeader;
  Bytes upper;  // MH, ICMPv6, UDP, TCP, an inner IPv6 packet, or nothing
  // Fill the upper layer's checksum field (MH, ICMPv6, UDP, TCP; see checksum_field_offset)
  // using the RFC 6275 pseudo-header rule (pseudo_header_addresses). The field's current
  // content is ignored when computing.
  bool compute_checksum = true;
};

// Assembles the packet. Each header's Next Header octet names the following header (the last
// one names upper_protocol; ESP's is encrypted and left alone), Hdr Ext Len / AH Payload Len
// follow from the sizes, Payload Length from the total — each unless pinned. The checksum is
// computed over the assembled packet; if the packet does not walk (pinned fields that break
// it), the checksum field is left as given.
Bytes build_packet(const PacketSpec& spec);

// Writes the upper-layer checksum of an assembled packet in place (see compute_checksum).
// Returns the error of walk_chain, or unsupported when the protocol has no checksum field.
Status fill_upper_checksum(Bytes& packet);

// RFC 2473 §3: the tunnel header. The inner packet is the payload, Next Header 41.
struct TunnelSpec {
  Ipv6Address source;       // tunnel entry point (e.g. the home agent, or the care-of address)
  Ipv6Address destination;  // tunnel exit point
  std::uint8_t hop_limit = 64;
  std::uint8_t traffic_class = 0;
  std::uint32_t flow_label = 0;
};
Bytes encapsulate(ByteSpan inner, const TunnelSpec& tunnel);

// The inner packet of an IPv6-in-IPv6 packet. Errors: the outer packet's walk errors; an upper
// layer other than 41 -> bad_value at the Next Header octet that names it.
Expected<ByteSpan> decapsulate(ByteSpan outer, const ChainLimits& limits = {});
// The same from the layout walk_chain already found for `outer` (no second walk).
Expected<ByteSpan> decapsulate(ByteSpan outer, const PacketLayout& layout);

}  // namespace mipv6::wire
