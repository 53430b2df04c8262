#include "sim/report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <system_error>

#include "sim/svg.h"

namespace mipv6::sim {
namespace {

using Row = std::vector<std::string>;

// A text table: names left-aligned, figures right-aligned (`left_aligned` lists the name
// columns; by default the first), every column as wide as its widest cell.
std::string render_table(const Row& header, const std::vector<Row>& rows,
                         const std::vector<std::size_t>& left_aligned = {0}) {
  std::vector<std::size_t> width(header.size(), 0);
  auto widen = [&](const Row& row) {
    for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  widen(header);
  for (const Row& row : rows)
    widen(row);
  auto line = [&](const Row& row) {
    std::string out = " ";
    for (std::size_t i = 0; i < width.size(); ++i) {
      const std::string& cell = i < row.size() ? row[i] : std::string();
      const std::string pad(width[i] - cell.size(), ' ');
      out += ' ';
      const bool left =
          std::find(left_aligned.begin(), left_aligned.end(), i) != left_aligned.end();
      out += left ? cell + pad : pad + cell;
      if (i + 1 < width.size()) out += ' ';
    }
    while (!out.empty() && out.back() == ' ')
      out.pop_back();
    return out + '\n';
  };
  std::string out = line(header);
  for (const Row& row : rows)
    out += line(row);
  return out;
}

std::string count(std::uint64_t n) {
  return std::to_string(n);
}

std::string format_at(TimePoint t) {
  return format_ms(t.time_since_epoch());
}

// "12.500": a share in percent with 3 decimals, computed in integers so it prints the same
// everywhere.
std::string percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "-";
  const std::uint64_t milli = (part * 100000 + whole / 2) / whole;
  char text[32];
  std::snprintf(text, sizeof text, "%llu.%03llu", static_cast<unsigned long long>(milli / 1000),
                static_cast<unsigned long long>(milli % 1000));
  return text;
}

std::string header_block(const ScenarioResult& r) {
  std::string out = "Scenario " + (r.name.empty() ? std::string("(unnamed)") : r.name) + "\n";
  if (!r.description.empty()) out += "  " + r.description + "\n";
  out += "  seed " + std::to_string(r.seed) + ", simulated " + format_ms(r.simulated) + " ms, " +
         std::to_string(r.events) + " events\n";
  return out;
}

std::string handover_block(const ScenarioResult& r) {
  std::string out = "\nHandovers (phase durations in ms; - : did not happen)\n";
  if (r.handovers.empty()) return out + "  none\n";
  std::vector<Row> rows;
  for (std::size_t i = 0; i < r.handovers.size(); ++i) {
    const HandoverReport& h = r.handovers[i];
    rows.push_back({std::to_string(i + 1), h.to, format_at(h.at), format_ms(h.router_discovery),
                    format_ms(h.address_configuration), format_ms(h.movement_detection),
                    format_ms(h.home_registration), format_ms(h.return_routability),
                    format_ms(h.total), count(h.packets_sent), count(h.packets_lost),
                    count(h.received_direct), count(h.received_tunnel), count(h.received_home)});
  }
  return out + render_table({"#", "to", "at ms", "router", "address", "detection", "home reg",
                             "return rt", "total", "sent", "lost", "direct", "tunnel", "home"},
                            rows, {1});
}

std::string timeline_block(const ScenarioResult& r) {
  std::string out = "\nTimeline (moves and failures)\n";
  if (r.timeline.empty()) return out + "  none\n";
  std::vector<Row> rows;
  for (const EventRecord& e : r.timeline)
    rows.push_back({format_at(e.at), e.what});
  return out + render_table({"at ms", "what"}, rows, {1});
}

std::string flow_block(const ScenarioResult& r) {
  std::string out = "\nFlows (delay in ms)\n";
  if (r.flows.empty()) return out + "  none\n";
  std::vector<Row> rows;
  for (const FlowSummary& f : r.flows) {
    rows.push_back({f.flow, count(f.sent), count(f.received), count(f.lost),
                    percent(f.lost, f.sent), count(f.direct), count(f.tunnel), count(f.home),
                    format_ms(f.delay_min), format_ms(f.delay_mean), format_ms(f.delay_max)});
  }
  return out + render_table({"flow", "sent", "received", "lost", "loss %", "direct", "tunnel",
                             "home", "delay min", "mean", "max"},
                            rows);
}

std::string population_block(const ScenarioResult& r) {
  const PopulationReport& p = r.population;
  if (p.mobile_nodes <= 1) return "";
  std::string out = "\nPopulation (first registration: BU(H) sent -> BA accepted, ms)\n";
  return out +
         render_table({"mobile nodes", "registered at end", "BUs", "BAs", "rejected", "reg p50",
                       "reg p99", "reg max"},
                      {{count(p.mobile_nodes), count(p.registered_at_end), count(p.binding_updates),
                        count(p.binding_acks), count(p.ba_rejected), format_ms(p.registration_p50),
                        format_ms(p.registration_p99), format_ms(p.registration_max)}});
}

std::string link_block(const ScenarioResult& r) {
  std::string out = "\nLinks (frames)\n";
  if (r.links.empty()) return out + "  none\n";
  std::vector<Row> rows;
  for (const ScenarioResult::LinkResult& l : r.links) {
    const LinkCounters& c = l.counters;
    rows.push_back(
        {l.name, count(c.frames_sent), count(c.frames_dropped_queue + c.frames_dropped_loss),
         count(c.frames_dropped_queue), count(c.frames_dropped_loss), count(c.frames_carried)});
  }
  return out + render_table({"link", "sent", "dropped", "queue", "loss", "carried"}, rows);
}

nlohmann::json optional_us(const std::optional<Duration>& d) {
  return d ? nlohmann::json(to_us(*d)) : nlohmann::json(nullptr);
}

nlohmann::json optional_us(const std::optional<TimePoint>& t) {
  return t ? nlohmann::json(to_us(*t)) : nlohmann::json(nullptr);
}

nlohmann::json handover_json(const HandoverReport& h) {
  return {{"to", h.to},
          {"at_us", to_us(h.at)},
          {"router_discovery_us", optional_us(h.router_discovery)},
          {"address_configuration_us", optional_us(h.address_configuration)},
          {"movement_detection_us", optional_us(h.movement_detection)},
          {"home_registration_us", optional_us(h.home_registration)},
          {"return_routability_us", optional_us(h.return_routability)},
          {"total_us", optional_us(h.total)},
          {"packets_sent", h.packets_sent},
          {"packets_lost", h.packets_lost},
          {"received_direct", h.received_direct},
          {"received_tunnel", h.received_tunnel},
          {"received_home", h.received_home}};
}

nlohmann::json packet_json(const PacketRecord& p) {
  return {{"flow", p.flow},
          {"sequence", p.sequence},
          {"sent_us", to_us(p.sent)},
          {"received_us", optional_us(p.received)},
          {"path", p.path ? nlohmann::json(path_kind_name(*p.path)) : nlohmann::json(nullptr)}};
}

nlohmann::json flow_json(const FlowSummary& f) {
  return {{"flow", f.flow},
          {"sent", f.sent},
          {"received", f.received},
          {"lost", f.lost},
          {"direct", f.direct},
          {"tunnel", f.tunnel},
          {"home", f.home},
          {"delay_min_us", optional_us(f.delay_min)},
          {"delay_mean_us", optional_us(f.delay_mean)},
          {"delay_max_us", optional_us(f.delay_max)}};
}

nlohmann::json signal_json(const SignalRecord& s) {
  return {{"at_us", to_us(s.at)}, {"arrived_us", optional_us(s.arrived)},
          {"from", s.from},       {"to", s.to},
          {"label", s.label},     {"link", s.link}};
}

nlohmann::json population_json(const PopulationReport& p) {
  return {{"mobile_nodes", p.mobile_nodes},
          {"registered_at_end", p.registered_at_end},
          {"binding_updates", p.binding_updates},
          {"binding_acks", p.binding_acks},
          {"ba_rejected", p.ba_rejected},
          {"registration_p50_us", optional_us(p.registration_p50)},
          {"registration_p99_us", optional_us(p.registration_p99)},
          {"registration_max_us", optional_us(p.registration_max)}};
}

nlohmann::json link_json(const ScenarioResult::LinkResult& l) {
  const LinkCounters& c = l.counters;
  return {{"name", l.name},
          {"frames_sent", c.frames_sent},
          {"frames_dropped_queue", c.frames_dropped_queue},
          {"frames_dropped_loss", c.frames_dropped_loss},
          {"frames_carried", c.frames_carried},
          {"frames_delivered", c.frames_delivered}};
}

template <typename T, typename F>
nlohmann::json array_of(const std::vector<T>& items, F&& convert) {
  nlohmann::json out = nlohmann::json::array();
  for (const T& item : items)
    out.push_back(convert(item));
  return out;
}

// Where a handover's last phase ended, measured from the move (nullopt: none ended).
std::optional<Duration> settled_after(const HandoverReport& h) {
  std::optional<Duration> end;
  auto extend = [&end](std::optional<Duration> d) {
    if (d && (!end || *d > *end)) end = d;
  };
  extend(h.total);
  if (h.router_discovery && h.address_configuration) {
    extend(*h.router_discovery + *h.address_configuration);
  }
  if (h.movement_detection) {
    extend(h.movement_detection);
    if (h.home_registration) {
      extend(*h.movement_detection + *h.home_registration);
      // Return routability starts after the home registration in the engine (§11.7.2 lets
      // the node start it at once, but it is not timed from there): a lower bound.
      if (h.return_routability) {
        extend(*h.movement_detection + *h.home_registration + *h.return_routability);
      }
    }
  }
  return end;
}

// When `window` holds more messages than a chart shows, where its last kMaxSequenceMessages
// begin: a long handover (retransmissions to a crashed home agent...) is seen to its end too.
std::optional<TimePoint> last_messages_from(const ScenarioResult& r, const SequenceWindow& window) {
  std::vector<TimePoint> sent;
  for (const SignalRecord& s : r.signalling) {
    if (s.at >= window.from && s.at < window.to) sent.push_back(s.at);
  }
  if (sent.size() <= kMaxSequenceMessages) return std::nullopt;
  std::sort(sent.begin(), sent.end());
  return sent[sent.size() - kMaxSequenceMessages];
}

bool write_file(const std::filesystem::path& path, const std::string& text, std::string& error) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) {
    error = "cannot open " + path.string() + " for writing";
    return false;
  }
  out << text;
  out.close();
  if (!out) {
    error = "cannot write " + path.string();
    return false;
  }
  return true;
}

}  // namespace

std::int64_t to_us(Duration d) {
  const std::int64_t ns = std::chrono::nanoseconds(d).count();
  return ns >= 0 ? (ns + 500) / 1000 : -((-ns + 500) / 1000);
}

std::int64_t to_us(TimePoint t) {
  return to_us(t.time_since_epoch());
}

std::string format_ms(Duration d) {
  const std::int64_t us = to_us(d);
  const std::uint64_t magnitude =
      us >= 0 ? static_cast<std::uint64_t>(us) : static_cast<std::uint64_t>(-us);
  char text[40];
  std::snprintf(text, sizeof text, "%s%llu.%03llu", us < 0 ? "-" : "",
                static_cast<unsigned long long>(magnitude / 1000),
                static_cast<unsigned long long>(magnitude % 1000));
  return text;
}

std::string format_ms(const std::optional<Duration>& d) {
  return d ? format_ms(*d) : "-";
}

std::string summary_text(const ScenarioResult& result) {
  return header_block(result) + handover_block(result) + timeline_block(result) +
         flow_block(result) + population_block(result) + link_block(result);
}

nlohmann::json to_json(const ScenarioResult& r) {
  return {{"format", "mipv6-sim-result"},
          {"version", 1},
          {"name", r.name},
          {"description", r.description},
          {"seed", r.seed},
          {"simulated_us", to_us(r.simulated)},
          {"events", r.events},
          {"handovers", array_of(r.handovers, handover_json)},
          {"timeline", array_of(r.timeline,
                                [](const EventRecord& e) {
                                  return nlohmann::json{{"at_us", to_us(e.at)}, {"what", e.what}};
                                })},
          {"flows", array_of(r.flows, flow_json)},
          {"packets", array_of(r.packets, packet_json)},
          {"signalling", array_of(r.signalling, signal_json)},
          {"population", population_json(r.population)},
          {"links", array_of(r.links, link_json)}};
}

std::vector<SequenceWindow> sequence_windows(const ScenarioResult& r) {
  std::vector<SequenceWindow> windows;
  const TimePoint end_of_run = TimePoint(r.simulated);
  auto next_move = [&](std::size_t i) {
    return i + 1 < r.handovers.size() ? r.handovers[i + 1].at : end_of_run;
  };
  const TimePoint first_move = r.handovers.empty() ? end_of_run : r.handovers.front().at;
  windows.push_back(
      {"sequence-start.svg", TimePoint{}, std::min(first_move, TimePoint(kStartWindow))});
  for (std::size_t i = 0; i < r.handovers.size(); ++i) {
    const HandoverReport& h = r.handovers[i];
    const std::optional<Duration> settled = settled_after(h);
    const TimePoint until = settled ? h.at + *settled + kSettleMargin : h.at + kStartWindow;
    // A next move at the same instant would leave an empty window: keep at least the move.
    const SequenceWindow whole{"sequence-" + std::to_string(i + 1) + ".svg", h.at,
                               std::max(h.at, std::min(until, next_move(i)))};
    windows.push_back(whole);
    if (const std::optional<TimePoint> from = last_messages_from(r, whole)) {
      windows.push_back({"sequence-" + std::to_string(i + 1) + "-end.svg", *from, whole.to});
    }
  }
  return windows;
}

bool write_outputs(const ScenarioResult& result, const std::string& directory, std::string& error) {
  const std::filesystem::path dir(directory);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    error = "cannot create " + directory + ": " + ec.message();
    return false;
  }
  if (!write_file(dir / "summary.txt", summary_text(result), error)) return false;
  if (!write_file(dir / "result.json", to_json(result).dump(2) + "\n", error)) return false;
  if (!write_file(dir / "timeline.svg", handover_timeline_svg(result), error)) return false;
  for (const SequenceWindow& w : sequence_windows(result)) {
    if (!write_file(dir / w.file, sequence_chart_svg(result, w.from, w.to), error)) return false;
  }
  return true;
}

}  // namespace mipv6::sim
