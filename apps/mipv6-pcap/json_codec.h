// JSON views of the wire formats, shared by `mipv6-pcap decode` (bytes -> JSON) and
// `mipv6-pcap encode` (JSON -> bytes). The conventions are in docs/json.md:
//  - field names are RFC 6275's (RFC 4861, RFC 8200 for ND and IPv6) in snake_case;
//  - derived fields (lengths, Header Len, checksums) are shown on decode; on encode they are
//    computed when absent and used verbatim when present, so broken packets can be built;
//  - a decode failure adds "error": {"code": "<WireErrc name>", "offset": N}; offsets from the
//    message functions below are relative to the message's first byte, the packet layer makes
//    them relative to the IPv6 header.
// Encoders throw JsonError naming the offending key; decoders never throw.
#pragma once

#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

#include "wire/bytes.h"

namespace mipv6::pcap_json {

using nlohmann::json;

struct JsonError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Mobility Header (RFC 6275 §6.1), from its Payload Proto byte to the end of the MH.
json mobility_to_json(wire::ByteSpan mh);
// The MH's bytes; the Checksum field holds j["checksum"] if given, else 0 (the packet layer
// fills it using the pseudo-header, unless the JSON gave one).
wire::Bytes mobility_from_json(const json& j);

// ICMPv6 message (RFC 4443 §2.1 framing), from its Type byte to the end of the packet.
json icmpv6_to_json(wire::ByteSpan message);
// The message's bytes; Checksum as for mobility_from_json.
wire::Bytes icmpv6_from_json(const json& j);

// A whole IPv6 packet (header, extension headers, upper layer, nested IPv6-in-IPv6).
json packet_to_json(wire::ByteSpan packet);
wire::Bytes packet_from_json(const json& j);

}  // namespace mipv6::pcap_json
