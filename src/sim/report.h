// A ScenarioResult for people and programs: the summary a researcher reads first, the JSON a
// script reads (fields documented in docs/simulator-output.md), and write_outputs(), which puts
// both next to the pictures of sim/svg.h in a directory. Everything here is a pure function of
// the result, so the same run always gives the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "sim/scenario_result.h"

namespace mipv6::sim {

// Virtual time to whole microseconds, rounded to the nearest (ties away from zero): the unit of
// every `*_us` field of the JSON and of the millisecond figures of the summary.
std::int64_t to_us(Duration d);
std::int64_t to_us(TimePoint t);

// "1024.000": milliseconds with 3 decimals (microsecond resolution), "-" for nullopt.
std::string format_ms(Duration d);
std::string format_ms(const std::optional<Duration>& d);

// The scenario header, one table per kind of figure (handovers, timeline, flows, the
// population when there is more than one mobile node, links), columns aligned.
std::string summary_text(const ScenarioResult& result);

// Stable snake_case fields, durations and instants as integer microseconds (`*_us`), null for
// what did not happen; every packet and signalling record. dump(2) of it is deterministic.
nlohmann::json to_json(const ScenarioResult& result);

// A message sequence chart's time window and the file it goes to.
struct SequenceWindow {
  std::string file;  // "sequence-start.svg", "sequence-1.svg", "sequence-1-end.svg", ...
  TimePoint from;
  TimePoint to;
};

// The windows write_outputs() draws: the initial registration (from 0 to the first move, at
// most kStartWindow) and one per handover, from the move until the handover settled (its
// latest phase ended) plus kSettleMargin, never past the next move, at most kStartWindow when
// no phase ended. When a handover's window holds more messages than a chart shows
// (kMaxSequenceMessages), a second one, "sequence-<k>-end.svg", shows its last ones.
std::vector<SequenceWindow> sequence_windows(const ScenarioResult& result);
inline constexpr Duration kStartWindow = std::chrono::seconds(5);
inline constexpr Duration kSettleMargin = std::chrono::milliseconds(200);

// Writes summary.txt, result.json, timeline.svg and the sequence charts of sequence_windows()
// into `directory` (created if missing). On failure returns false with `error` saying what.
bool write_outputs(const ScenarioResult& result, const std::string& directory, std::string& error);

}  // namespace mipv6::sim
