// Scenario files (scenarios/*.toml, docs/scenarios.md): TOML text -> ScenarioSpec.
//
// The reader is strict, like a compiler: a typo in a key (`dealy`), a value of the wrong type,
// an out-of-range value (negative delay, loss outside [0, 1], a move after the end, an unknown
// link, two home agents with one address...) is an error naming the file, the line and column
// of the offending key or value, and the key's dotted path. Nothing is silently ignored, so a
// scenario that runs is the scenario that was written.
//
// One rule for every time and duration: a number is seconds (`at = 5`, `delay = 0.001`); a
// string carries its unit (`"250ms"`, `"1.5s"`, `"20us"`, `"2min"`).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "sim/scenario_spec.h"

namespace mipv6::sim {

struct ScenarioFileError {
  std::string file;
  std::size_t line = 0;  // 1-based; 0: the error is about the whole file (cannot be read)
  std::size_t column = 0;
  std::string key;  // dotted path, e.g. "links.a.delay", "move[1].link"; empty for syntax errors
  std::string message;

  // "file:line:column: key: message" (the parts that are known).
  std::string to_string() const;
};

// Parses a scenario. `file_name` is used in errors and, without a `name` key, gives the
// scenario's name (its stem). nullopt and `error` filled on the first error.
std::optional<ScenarioSpec> parse_scenario(std::string_view text, const std::string& file_name,
                                           ScenarioFileError& error);

// Reads and parses the file at `path`.
std::optional<ScenarioSpec> load_scenario_file(const std::string& path, ScenarioFileError& error);

// Parses a time or duration in the files' form ("250ms", "1.5s", "20us", "2min", "3s"; a bare
// number is seconds). nullopt if malformed or negative. Exposed for the command line and tests.
std::optional<Duration> parse_duration_text(std::string_view text);

}  // namespace mipv6::sim
