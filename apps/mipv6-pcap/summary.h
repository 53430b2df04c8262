// One readable line per decoded packet (`mipv6-pcap summary`), built from the same JSON that
// `mipv6-pcap decode` prints, so the two views never disagree.
#pragma once

#include <string>

#include "json_codec.h"

namespace mipv6::pcap_json {

// E.g. "2001:db8:2::100 > 2001:db8:1::1 HAO=2001:db8:1::100 BU seq=1000 A H lifetime=420s
// alt-coa=2001:db8:2::100". Tunnelled packets show the inner packet in braces.
std::string summarize(const json& packet);

}  // namespace mipv6::pcap_json
