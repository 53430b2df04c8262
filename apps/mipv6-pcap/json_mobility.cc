// Placeholder until the mobility codec lands (issue 2): reports that this layer is not decoded yet.
#include "json_codec.h"

namespace mipv6::pcap_json {

json mobility_to_json(wire::ByteSpan) { return json{{"error", {{"code", "unsupported"}, {"offset", 0}}}}; }
wire::Bytes mobility_from_json(const json&) { throw JsonError("mobility encoding not built yet"); }

}  // namespace mipv6::pcap_json
