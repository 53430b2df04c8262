// Pictures of a ScenarioResult as standalone SVG documents (docs/simulator-output.md shows how
// to read them). Pure string building, no libraries, no clock: the same result gives the same
// bytes.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "sim/scenario_result.h"

namespace mipv6::sim {

// The whole run on one time axis (moves and failures as vertical markers, one dot per packet
// of the downlink flows, coloured by how it arrived or red when lost), then one row per
// handover on a shared axis from its move: the phases as coloured bars (router discovery,
// address configuration, movement detection, home registration, return routability, first
// packet) and the packets sent during it. With a legend; axes in seconds.
std::string handover_timeline_svg(const ScenarioResult& result);

// A message sequence chart of the signalling sent in [from, to): one lifeline per node that
// appears (mn, ar-a, ar-b, ha, ha2, cn, then any other by name), time going down one row per
// message (not to scale), each arrow ending where its arrival time falls between the rows, a
// cross for a message that never arrived, send times in ms on the left. At most
// kMaxSequenceMessages arrows; the chart says how many more the window held.
std::string sequence_chart_svg(const ScenarioResult& result, TimePoint from, TimePoint to);
inline constexpr std::size_t kMaxSequenceMessages = 60;

// Text made safe for XML character data and attribute values (& < > " ').
std::string xml_escape(std::string_view text);

}  // namespace mipv6::sim
