// Placeholder until the icmpv6 codec lands (issue 2): reports that this layer is not decoded yet.
#include "json_codec.h"

namespace mipv6::pcap_json {

json icmpv6_to_json(wire::ByteSpan) { return json{{"error", {{"code", "unsupported"}, {"offset", 0}}}}; }
wire::Bytes icmpv6_from_json(const json&) { throw JsonError("icmpv6 encoding not built yet"); }

}  // namespace mipv6::pcap_json
