// Placeholder until the packet layer lands (issue 2).
#include "json_codec.h"

namespace mipv6::pcap_json {

json packet_to_json(wire::ByteSpan) { return json{{"error", {{"code", "unsupported"}, {"offset", 0}}}}; }
wire::Bytes packet_from_json(const json&) { throw JsonError("packet encoding not built yet"); }

}  // namespace mipv6::pcap_json
