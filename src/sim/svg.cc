#include "sim/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <vector>

#include "sim/report.h"

namespace mipv6::sim {
namespace {

// ---------------------------------------------------------------------------------------------
// Building blocks

// A coordinate with one decimal, printed from integers so that no locale or floating-point
// printing difference changes the bytes.
std::string num(double value) {
  const long long tenths = std::llround(value * 10.0);
  const long long magnitude = tenths < 0 ? -tenths : tenths;
  std::string out = tenths < 0 ? "-" : "";
  out += std::to_string(magnitude / 10);
  if (magnitude % 10 != 0) out += "." + std::to_string(magnitude % 10);
  return out;
}

// Markup collected element by element; the size is given at the end, once the layout knows it.
class Svg {
 public:
  void line(double x1, double y1, double x2, double y2, std::string_view style,
            std::string_view cls = "") {
    body_ += "<line";
    if (!cls.empty()) body_ += " class=\"" + std::string(cls) + "\"";
    body_ += " x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" +
             num(y2) + "\" " + std::string(style) + "/>\n";
  }
  void rect(double x, double y, double w, double h, std::string_view style) {
    body_ += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) + "\" height=\"" +
             num(h) + "\" " + std::string(style) + "/>\n";
  }
  void circle(double cx, double cy, double r, std::string_view fill) {
    body_ += "<circle cx=\"" + num(cx) + "\" cy=\"" + num(cy) + "\" r=\"" + num(r) + "\" fill=\"" +
             std::string(fill) + "\"/>\n";
  }
  // `text` is escaped here; `style` is trusted (built in this file).
  void text(double x, double y, std::string_view text, std::string_view style = "") {
    body_ += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"";
    if (!style.empty()) body_ += " " + std::string(style);
    body_ += ">" + xml_escape(text) + "</text>\n";
  }
  void raw(std::string_view markup) { body_ += markup; }

  std::string finish(double width, double height) const {
    const std::string w = num(width), h = num(height);
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" +
           w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
           "\" font-family=\"sans-serif\" font-size=\"11\">\n"
           "<rect x=\"0\" y=\"0\" width=\"" +
           w + "\" height=\"" + h + "\" fill=\"white\"/>\n" + body_ + "</svg>\n";
  }

 private:
  std::string body_;
};

// A horizontal time axis: [0, span_us] microseconds onto [left, right] pixels.
struct Axis {
  double left = 0;
  double right = 0;
  std::int64_t span_us = 1;

  double x(std::int64_t us) const {
    const double share = static_cast<double>(us) / static_cast<double>(span_us);
    return left + std::clamp(share, 0.0, 1.0) * (right - left);
  }
  bool contains(std::int64_t us) const { return us >= 0 && us <= span_us; }
};

// The tick step for a span: 1, 2 or 5 times a power of ten microseconds, at most 10 ticks.
std::int64_t tick_step(std::int64_t span_us) {
  for (std::int64_t decade = 1;; decade *= 10) {
    for (const std::int64_t factor : {1, 2, 5}) {
      if (span_us / (decade * factor) <= 10) return decade * factor;
    }
  }
}

// A span rounded up to a whole tick, so that the axis ends on a labelled tick.
std::int64_t round_span(std::int64_t span_us) {
  span_us = std::max<std::int64_t>(span_us, 1000);
  const std::int64_t step = tick_step(span_us);
  return (span_us + step - 1) / step * step;
}

// "2.5": a tick value in seconds with as many decimals as the step needs.
std::string seconds_label(std::int64_t us, std::int64_t step) {
  std::size_t decimals = 6;
  for (std::int64_t unit = 1; decimals > 0 && step % (unit * 10) == 0; unit *= 10)
    --decimals;
  std::string out = std::to_string(us / 1000000);
  if (decimals > 0) {
    std::string fraction = std::to_string(us % 1000000);
    fraction.insert(0, 6 - fraction.size(), '0');
    out += "." + fraction.substr(0, decimals);
  }
  return out;
}

void draw_axis(Svg& svg, const Axis& axis, double y, std::string_view title) {
  svg.line(axis.left, y, axis.right, y, "stroke=\"#333\"", "axis");
  const std::int64_t step = tick_step(axis.span_us);
  for (std::int64_t t = 0; t <= axis.span_us; t += step) {
    const double x = axis.x(t);
    svg.line(x, y, x, y + 4, "stroke=\"#333\"");
    svg.text(x, y + 15, seconds_label(t, step), "text-anchor=\"middle\" font-size=\"10\"");
  }
  svg.text((axis.left + axis.right) / 2, y + 30, title, "text-anchor=\"middle\"");
}

// ---------------------------------------------------------------------------------------------
// Handover timeline

constexpr double kWidth = 1000;
constexpr double kPlotLeft = 170;
constexpr double kPlotRight = kWidth - 40;

enum class Outcome : std::uint8_t { kDirect, kTunnel, kHome, kLost };
constexpr Outcome kOutcomes[] = {Outcome::kDirect, Outcome::kTunnel, Outcome::kHome,
                                 Outcome::kLost};

// A packet received without a recorded path is drawn as received on the home link.
Outcome outcome_of(const PacketRecord& p) {
  if (!p.received) return Outcome::kLost;
  if (p.path == PathKind::kRouteOptimized) return Outcome::kDirect;
  if (p.path == PathKind::kTunnel) return Outcome::kTunnel;
  return Outcome::kHome;
}

const char* outcome_name(Outcome o) {
  switch (o) {
    case Outcome::kDirect:
      return "direct";
    case Outcome::kTunnel:
      return "tunnel";
    case Outcome::kHome:
      return "home";
    case Outcome::kLost:
      return "lost";
  }
  return "";
}

const char* outcome_colour(Outcome o) {
  switch (o) {
    case Outcome::kDirect:
      return "#2ca02c";
    case Outcome::kTunnel:
      return "#1f77b4";
    case Outcome::kHome:
      return "#7f7f7f";
    case Outcome::kLost:
      return "#d62728";
  }
  return "black";
}

struct Phase {
  const char* name;
  const char* colour;
};
// Okabe-Ito colours: told apart with the common colour-vision deficiencies.
constexpr Phase kPhases[] = {
    {"router discovery", "#E69F00"},   {"address configuration", "#56B4E9"},
    {"movement detection", "#009E73"}, {"home registration", "#0072B2"},
    {"return routability", "#CC79A7"}, {"first packet", "#555555"}};
constexpr const char* kMoveColour = "#444444";
constexpr const char* kFailureColour = "#b2182b";

struct Interval {
  std::int64_t begin_us = 0;  // from the move
  std::int64_t end_us = 0;
};

// Downlink flows (to the mobile node: every flow but the "-up" ones), in order of appearance.
std::vector<std::string> downlink_flows(const ScenarioResult& r) {
  std::vector<std::string> names;
  auto add = [&names](const std::string& name) {
    const bool uplink = name.size() >= 3 && name.compare(name.size() - 3, 3, "-up") == 0;
    if (!uplink && std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  };
  for (const FlowSummary& f : r.flows)
    add(f.flow);
  for (const PacketRecord& p : r.packets)
    add(p.flow);
  return names;
}

bool is_move(const EventRecord& e) {
  return e.what.rfind("move", 0) == 0;
}

TimePoint next_move_after(const ScenarioResult& r, std::size_t i) {
  return i + 1 < r.handovers.size() ? r.handovers[i + 1].at : TimePoint::max();
}

// When return routability started: the first HoTI or CoTI the node sent after the move; if the
// chart was not recorded, right after the home registration (where the engine starts it,
// §11.7.2 leaving the choice to the node).
std::optional<std::int64_t> return_routability_start(const ScenarioResult& r, std::size_t i) {
  const HandoverReport& h = r.handovers[i];
  const TimePoint until = next_move_after(r, i);
  for (const SignalRecord& s : r.signalling) {
    if (s.at < h.at || s.at >= until) continue;
    if (s.label.rfind("HoTI", 0) == 0 || s.label.rfind("CoTI", 0) == 0) return to_us(s.at - h.at);
  }
  if (h.movement_detection && h.home_registration) {
    return to_us(*h.movement_detection + *h.home_registration);
  }
  return std::nullopt;
}

// The six phase bars of a handover, in kPhases order; nullopt where the phase did not happen.
std::vector<std::optional<Interval>> phase_intervals(const ScenarioResult& r, std::size_t i) {
  const HandoverReport& h = r.handovers[i];
  std::vector<std::optional<Interval>> bars(std::size(kPhases));
  if (h.router_discovery) bars[0] = Interval{0, to_us(*h.router_discovery)};
  if (h.router_discovery && h.address_configuration) {
    const std::int64_t ra = to_us(*h.router_discovery);
    bars[1] = Interval{ra, ra + to_us(*h.address_configuration)};
  }
  if (h.movement_detection) bars[2] = Interval{0, to_us(*h.movement_detection)};
  if (h.movement_detection && h.home_registration) {
    const std::int64_t bu = to_us(*h.movement_detection);
    bars[3] = Interval{bu, bu + to_us(*h.home_registration)};
  }
  if (h.return_routability) {
    if (const auto start = return_routability_start(r, i)) {
      bars[4] = Interval{*start, *start + to_us(*h.return_routability)};
    }
  }
  if (h.total) bars[5] = Interval{0, to_us(*h.total)};
  return bars;
}

void draw_marker(Svg& svg, double x, double top, double bottom, bool move) {
  svg.line(x, top, x, bottom,
           std::string("stroke=\"") + (move ? kMoveColour : kFailureColour) +
               "\" stroke-width=\"1.2\" stroke-dasharray=\"4 3\"",
           move ? "marker move" : "marker failure");
}

class TimelineChart {
 public:
  explicit TimelineChart(const ScenarioResult& r) : r_(r) {}

  std::string render() {
    draw_title();
    draw_run();
    draw_handovers();
    draw_legend();
    return svg_.finish(kWidth, y_ + 10);
  }

 private:
  void draw_title() {
    svg_.text(kPlotLeft, 22,
              "Scenario " + (r_.name.empty() ? std::string("(unnamed)") : r_.name) +
                  ": handover timeline",
              "font-size=\"15\" font-weight=\"bold\"");
    svg_.text(kPlotLeft, 38,
              "seed " + std::to_string(r_.seed) + ", simulated " + format_ms(r_.simulated) +
                  " ms, " + std::to_string(r_.handovers.size()) + " handover(s)",
              "fill=\"#444\"");
    y_ = 52;
  }

  std::int64_t run_span_us() const {
    std::int64_t end = to_us(r_.simulated);
    for (const EventRecord& e : r_.timeline)
      end = std::max(end, to_us(e.at));
    for (const PacketRecord& p : r_.packets)
      end = std::max(end, to_us(p.sent));
    return round_span(end);
  }

  void draw_run() {
    const Axis axis{kPlotLeft, kPlotRight, run_span_us()};
    Svg& svg = svg_;
    svg.text(10, y_ + 10, "Whole run", "font-weight=\"bold\"");
    // Event labels on three staggered levels so that close events stay readable.
    const double labels_top = y_;
    for (std::size_t i = 0; i < r_.timeline.size(); ++i) {
      const EventRecord& e = r_.timeline[i];
      svg.text(axis.x(to_us(e.at)) + 3, labels_top + 10 + 12 * static_cast<double>(i % 3), e.what,
               std::string("font-size=\"9\" fill=\"") +
                   (is_move(e) ? kMoveColour : kFailureColour) + "\"");
    }
    y_ += 44;
    const std::vector<std::string> flows = downlink_flows(r_);
    if (flows.empty()) {
      svg.text(kPlotLeft + 4, y_ + 14, "no downlink packets", "fill=\"#777\"");
      y_ += 24;
    }
    for (const std::string& flow : flows)
      draw_flow_strip(axis, flow);
    for (const EventRecord& e : r_.timeline) {
      draw_marker(svg, axis.x(to_us(e.at)), labels_top, y_, is_move(e));
    }
    draw_axis(svg, axis, y_ + 4, "time since the start of the run (s)");
    y_ += 56;
  }

  // Four lanes (direct, tunnel, home, lost) of one dot per packet of the flow.
  void draw_flow_strip(const Axis& axis, const std::string& flow) {
    Svg& svg = svg_;
    constexpr double kLane = 8;
    svg.text(10, y_ + 10, flow, "font-weight=\"bold\"");
    for (std::size_t lane = 0; lane < std::size(kOutcomes); ++lane) {
      const double mid = y_ + kLane * (static_cast<double>(lane) + 0.5);
      svg.text(kPlotLeft - 6, mid + 3, outcome_name(kOutcomes[lane]),
               "text-anchor=\"end\" font-size=\"8\" fill=\"#555\"");
      svg.line(kPlotLeft, mid, kPlotRight, mid, "stroke=\"#eee\"");
    }
    for (const PacketRecord& p : r_.packets) {
      if (p.flow != flow) continue;
      const Outcome o = outcome_of(p);
      const double lane = static_cast<double>(static_cast<int>(o));
      svg.circle(axis.x(to_us(p.sent)), y_ + kLane * (lane + 0.5), 1.6, outcome_colour(o));
    }
    y_ += kLane * static_cast<double>(std::size(kOutcomes)) + 8;
  }

  std::int64_t handover_span_us() const {
    std::int64_t end = 0;
    for (std::size_t i = 0; i < r_.handovers.size(); ++i) {
      for (const auto& bar : phase_intervals(r_, i)) {
        if (bar) end = std::max(end, bar->end_us);
      }
    }
    // A little room after the last phase for its duration label and the first packets.
    return round_span(end + end / 10 + (end == 0 ? 1000000 : 0));
  }

  void draw_handovers() {
    Svg& svg = svg_;
    svg.text(10, y_ + 10, "Handovers: phases from the move", "font-weight=\"bold\"");
    y_ += 20;
    if (r_.handovers.empty()) {
      svg.text(kPlotLeft + 4, y_ + 12, "no handovers", "fill=\"#777\"");
      y_ += 30;
      return;
    }
    const Axis axis{kPlotLeft, kPlotRight, handover_span_us()};
    const double top = y_;
    for (std::size_t i = 0; i < r_.handovers.size(); ++i)
      draw_handover_row(axis, i);
    const std::int64_t step = tick_step(axis.span_us);
    for (std::int64_t t = step; t <= axis.span_us; t += step) {
      svg.line(axis.x(t), top, axis.x(t), y_, "stroke=\"#ddd\" stroke-width=\"0.6\"");
    }
    draw_axis(svg, axis, y_ + 4, "time since the move (s)");
    y_ += 56;
  }

  void draw_handover_row(const Axis& axis, std::size_t i) {
    Svg& svg = svg_;
    const HandoverReport& h = r_.handovers[i];
    constexpr double kLane = 13;
    constexpr double kBar = 10;
    const double height = kLane * static_cast<double>(std::size(kPhases) + 1) + 6;
    if (i % 2 == 0) svg.rect(kPlotLeft, y_, kPlotRight - kPlotLeft, height, "fill=\"#f6f6f6\"");
    svg.text(10, y_ + 14, "#" + std::to_string(i + 1) + " to " + h.to, "font-weight=\"bold\"");
    svg.text(10, y_ + 28, "at " + format_ms(h.at.time_since_epoch()) + " ms", "font-size=\"10\"");
    svg.text(
        10, y_ + 42,
        std::to_string(h.packets_lost) + " of " + std::to_string(h.packets_sent) + " packets lost",
        "font-size=\"10\" fill=\"#555\"");
    const auto bars = phase_intervals(r_, i);
    for (std::size_t p = 0; p < bars.size(); ++p) {
      const double lane_top = y_ + 3 + kLane * static_cast<double>(p);
      if (!bars[p]) {
        svg.text(kPlotLeft + 3, lane_top + 8, "-", "font-size=\"9\" fill=\"#999\"");
        continue;
      }
      const double x0 = axis.x(bars[p]->begin_us), x1 = axis.x(bars[p]->end_us);
      svg.raw("<rect class=\"phase\" x=\"" + num(x0) + "\" y=\"" + num(lane_top) + "\" width=\"" +
              num(std::max(x1 - x0, 1.0)) + "\" height=\"" + num(kBar) + "\" fill=\"" +
              kPhases[p].colour + "\"><title>" + xml_escape(kPhases[p].name) + " " +
              format_ms(Duration(std::chrono::microseconds(bars[p]->end_us - bars[p]->begin_us))) +
              " ms</title></rect>\n");
      svg.text(std::max(x1, x0 + 1.0) + 3, lane_top + 8,
               format_ms(Duration(std::chrono::microseconds(bars[p]->end_us - bars[p]->begin_us))) +
                   " ms",
               "font-size=\"9\"");
    }
    draw_handover_packets(axis, i, y_ + 3 + kLane * static_cast<double>(std::size(kPhases)));
    for (const EventRecord& e : r_.timeline) {
      const std::int64_t offset = to_us(e.at - h.at);
      if (!axis.contains(offset) || (offset == 0 && is_move(e))) continue;
      draw_marker(svg, axis.x(offset), y_, y_ + height, is_move(e));
      svg.text(axis.x(offset) + 3, y_ + height - 3, e.what,
               std::string("font-size=\"9\" fill=\"") +
                   (is_move(e) ? kMoveColour : kFailureColour) + "\"");
    }
    y_ += height + 6;
  }

  // The downlink packets sent from the move until the next one, coloured by outcome.
  void draw_handover_packets(const Axis& axis, std::size_t i, double lane_top) {
    const HandoverReport& h = r_.handovers[i];
    const TimePoint until = next_move_after(r_, i);
    const std::vector<std::string> flows = downlink_flows(r_);
    for (const PacketRecord& p : r_.packets) {
      if (p.sent < h.at || p.sent >= until) continue;
      if (std::find(flows.begin(), flows.end(), p.flow) == flows.end()) continue;
      const std::int64_t offset = to_us(p.sent - h.at);
      if (!axis.contains(offset)) continue;
      const Outcome o = outcome_of(p);
      svg_.circle(axis.x(offset), lane_top + 5, 2, outcome_colour(o));
    }
  }

  void draw_legend() {
    Svg& svg = svg_;
    svg.text(10, y_ + 10, "Legend", "font-weight=\"bold\"");
    double x = kPlotLeft;
    for (const Phase& p : kPhases) {
      svg.rect(x, y_ + 1, 14, 10, std::string("fill=\"") + p.colour + "\"");
      svg.text(x + 18, y_ + 10, p.name, "font-size=\"10\"");
      x += 130;
    }
    y_ += 18;
    x = kPlotLeft;
    for (const Outcome o : kOutcomes) {
      svg.circle(x + 5, y_ + 6, 3, outcome_colour(o));
      svg.text(x + 12, y_ + 10, std::string("packet ") + outcome_name(o), "font-size=\"10\"");
      x += 110;
    }
    draw_marker(svg, x + 4, y_, y_ + 12, true);
    svg.text(x + 10, y_ + 10, "move", "font-size=\"10\"");
    draw_marker(svg, x + 64, y_, y_ + 12, false);
    svg.text(x + 70, y_ + 10, "failure", "font-size=\"10\"");
    y_ += 22;
  }

  const ScenarioResult& r_;
  Svg svg_;
  double y_ = 0;
};

// ---------------------------------------------------------------------------------------------
// Message sequence chart

constexpr double kSeqLeft = 110;     // room for the timestamps
constexpr double kSeqSpacing = 150;  // between lifelines
constexpr double kSeqRow = 28;       // per message
constexpr double kSeqTop = 84;       // first message row
constexpr double kLostShort = 40;    // a lost message's arrow stops this far from its receiver

// Lifeline order: the mobile node first, the access routers, the home agents, the
// correspondent, then anything else; by name within a group.
int lifeline_group(const std::string& name) {
  auto starts = [&name](const char* prefix) { return name.rfind(prefix, 0) == 0; };
  if (name == "mn") return 0;
  if (starts("mn")) return 1;
  if (starts("ar")) return 2;
  if (name == "ha") return 3;
  if (starts("ha")) return 4;
  if (starts("cn")) return 5;
  return 6;
}

std::vector<std::string> lifelines(const std::vector<const SignalRecord*>& shown) {
  std::vector<std::string> names;
  for (const SignalRecord* s : shown) {
    for (const std::string* name : {&s->from, &s->to}) {
      if (std::find(names.begin(), names.end(), *name) == names.end()) names.push_back(*name);
    }
  }
  std::sort(names.begin(), names.end(), [](const std::string& a, const std::string& b) {
    const int ga = lifeline_group(a), gb = lifeline_group(b);
    return ga != gb ? ga < gb : a < b;
  });
  return names;
}

// Rows are spaced evenly in message order; an instant between two rows lands between them,
// logarithmically in the time elapsed, so that a 1 ms delay stays visible next to a 10 s gap.
class RowScale {
 public:
  explicit RowScale(const std::vector<const SignalRecord*>& shown) {
    for (const SignalRecord* s : shown)
      times_.push_back(to_us(s->at));
    for (const SignalRecord* s : shown) {
      if (s->arrived) last_ = std::max(last_, to_us(*s->arrived));
    }
    if (!times_.empty()) last_ = std::max(last_, times_.back());
  }

  static double row_y(std::size_t row) { return kSeqTop + kSeqRow * static_cast<double>(row); }

  double y(std::int64_t us) const {
    const auto after = std::lower_bound(times_.begin(), times_.end(), us);
    if (after != times_.end() && *after == us) return row_y(index(after));
    if (after == times_.begin()) return row_y(0);
    const std::size_t row = index(after) - 1;
    const std::int64_t base = times_[row];
    const std::int64_t next = after == times_.end() ? last_ : *after;
    const double fraction = std::log1p(static_cast<double>(us - base)) /
                            std::log1p(static_cast<double>(std::max<std::int64_t>(next - base, 1)));
    return row_y(row) + kSeqRow * std::clamp(fraction, 0.0, 1.0);
  }

 private:
  std::size_t index(std::vector<std::int64_t>::const_iterator it) const {
    return static_cast<std::size_t>(it - times_.begin());
  }
  std::vector<std::int64_t> times_;  // send times, one per row, ascending
  std::int64_t last_ = 0;            // the latest instant drawn
};

class SequenceChart {
 public:
  SequenceChart(const ScenarioResult& r, TimePoint from, TimePoint to) : from_(from), to_(to) {
    // Name the handover the window starts with, or the one it shows the end of.
    for (std::size_t i = 0; i < r.handovers.size(); ++i) {
      const HandoverReport& h = r.handovers[i];
      if (h.at <= from && (i + 1 == r.handovers.size() || from < r.handovers[i + 1].at)) {
        context_ = " (handover #" + std::to_string(i + 1) + " to " + h.to + ")";
      }
    }
    std::vector<const SignalRecord*> in_window;
    for (const SignalRecord& s : r.signalling) {
      if (s.at >= from && s.at < to) in_window.push_back(&s);
    }
    std::stable_sort(in_window.begin(), in_window.end(),
                     [](const SignalRecord* a, const SignalRecord* b) { return a->at < b->at; });
    const std::size_t shown = std::min(in_window.size(), kMaxSequenceMessages);
    left_out_ = in_window.size() - shown;
    shown_.assign(in_window.begin(), in_window.begin() + static_cast<std::ptrdiff_t>(shown));
    names_ = lifelines(shown_);
  }

  std::string render() const {
    const double width =
        std::max(kSeqLeft + kSeqSpacing * static_cast<double>(names_.size()) + 20, 420.0);
    const double bottom = RowScale::row_y(shown_.size()) + kSeqRow;
    Svg svg;
    svg.raw(
        "<defs><marker id=\"arrowhead\" markerWidth=\"8\" markerHeight=\"8\" refX=\"7\" "
        "refY=\"4\" orient=\"auto\" markerUnits=\"userSpaceOnUse\"><path d=\"M0,0 L8,4 L0,8 "
        "z\" fill=\"#222\"/></marker></defs>\n");
    svg.text(10, 22,
             "Signalling from " + format_ms(from_.time_since_epoch()) + " ms to " +
                 format_ms(to_.time_since_epoch()) + " ms" + context_,
             "font-size=\"14\" font-weight=\"bold\"");
    draw_lifelines(svg, bottom);
    if (shown_.empty()) svg.text(10, kSeqTop, "no signalling in this window", "fill=\"#777\"");
    const RowScale scale(shown_);
    for (std::size_t i = 0; i < shown_.size(); ++i)
      draw_message(svg, scale, i);
    draw_footer(svg, bottom);
    return svg.finish(width, bottom + 50);
  }

 private:
  double lifeline_x(const std::string& name) const {
    const auto it = std::find(names_.begin(), names_.end(), name);
    const double index = static_cast<double>(it - names_.begin());
    return kSeqLeft + kSeqSpacing * (index + 0.5);
  }

  void draw_lifelines(Svg& svg, double bottom) const {
    for (const std::string& name : names_) {
      const double x = lifeline_x(name);
      svg.rect(x - 40, 38, 80, 22, "fill=\"#eef\" stroke=\"#334\"");
      svg.text(x, 53, name, "text-anchor=\"middle\" font-weight=\"bold\"");
      svg.line(x, 60, x, bottom, "stroke=\"#999\" stroke-dasharray=\"3 3\"", "lifeline");
    }
  }

  void draw_message(Svg& svg, const RowScale& scale, std::size_t i) const {
    const SignalRecord& s = *shown_[i];
    const double x1 = lifeline_x(s.from), x2 = lifeline_x(s.to);
    const double y1 = RowScale::row_y(i);
    const bool lost = !s.arrived;
    svg.raw(lost ? "<g class=\"message lost\">\n" : "<g class=\"message\">\n");
    svg.text(kSeqLeft - 8, y1 + 4, format_ms(s.at.time_since_epoch()) + " ms",
             "text-anchor=\"end\" font-size=\"10\" fill=\"#555\"");
    const char* colour = lost ? "fill=\"#d62728\"" : "fill=\"#000\"";
    if (x1 == x2) {
      draw_self_message(svg, x1, y1, lost);
      svg.text(x1 + 36, y1 + 4, s.label, colour);
    } else if (lost) {
      // Never arrived: the arrow stops with a cross short of its receiver, between it and the
      // lifeline before it, so that it cannot be read as addressed to that one.
      const double xe = x2 + (x2 > x1 ? -kLostShort : kLostShort), ye = y1 + kSeqRow * 0.3;
      svg.line(x1, y1, xe, ye, "stroke=\"#d62728\" stroke-width=\"1.3\" stroke-dasharray=\"5 3\"");
      draw_cross(svg, xe, ye);
      draw_label(svg, s.label, x1, y1, xe, ye, colour);
    } else {
      const double y2 = std::max(y1, scale.y(to_us(*s.arrived)));
      svg.line(x1, y1, x2, y2,
               "stroke=\"#222\" stroke-width=\"1.3\" marker-end=\"url(#arrowhead)\"", "arrow");
      draw_label(svg, s.label, x1, y1, x2, y2, colour);
    }
    svg.raw("</g>\n");
  }

  // Above its arrow: at the middle of a flat one; on a steep one (it arrives rows later) next
  // to the sender, where it cannot be taken for the label of a message sent meanwhile.
  static void draw_label(Svg& svg, const std::string& label, double x1, double y1, double x2,
                         double y2, const char* colour) {
    if (y2 - y1 <= kSeqRow / 2) {
      svg.text((x1 + x2) / 2, (y1 + y2) / 2 - 4, label,
               std::string("text-anchor=\"middle\" ") + colour);
      return;
    }
    const bool rightwards = x2 > x1;
    svg.text(x1 + (rightwards ? 8 : -8), y1 - 4, label,
             std::string(rightwards ? "text-anchor=\"start\" " : "text-anchor=\"end\" ") + colour);
  }

  static void draw_cross(Svg& svg, double x, double y) {
    constexpr double kArm = 5;
    const char* style = "stroke=\"#d62728\" stroke-width=\"2\"";
    svg.line(x - kArm, y - kArm, x + kArm, y + kArm, style, "cross");
    svg.line(x - kArm, y + kArm, x + kArm, y - kArm, style, "cross");
  }

  static void draw_self_message(Svg& svg, double x, double y, bool lost) {
    const char* stroke = lost ? "#d62728" : "#222";
    svg.raw("<polyline points=\"" + num(x) + "," + num(y) + " " + num(x + 30) + "," + num(y) + " " +
            num(x + 30) + "," + num(y + 10) + " " + num(x) + "," + num(y + 10) +
            "\" fill=\"none\" stroke=\"" + stroke + "\" stroke-width=\"1.3\"" +
            (lost ? "" : " marker-end=\"url(#arrowhead)\"") + "/>\n");
    if (lost) draw_cross(svg, x, y + 10);
  }

  void draw_footer(Svg& svg, double bottom) const {
    std::string note = std::to_string(shown_.size()) + " message(s)";
    if (left_out_ > 0) {
      note += "; " + std::to_string(left_out_) + " more in this window not shown";
    }
    note += ". Rows are in sending order, not to scale; a red cross: lost or not seen.";
    svg.text(10, bottom + 24, note, "font-size=\"10\" fill=\"#444\"");
  }

  TimePoint from_;
  TimePoint to_;
  std::string context_;  // " (handover #2 to b)" or empty
  std::vector<const SignalRecord*> shown_;
  std::size_t left_out_ = 0;
  std::vector<std::string> names_;
};

}  // namespace

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        // XML 1.0 allows no other control characters, even escaped.
        out +=
            static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r' ? '?' : c;
    }
  }
  return out;
}

std::string handover_timeline_svg(const ScenarioResult& result) {
  return TimelineChart(result).render();
}

std::string sequence_chart_svg(const ScenarioResult& result, TimePoint from, TimePoint to) {
  return SequenceChart(result, from, to).render();
}

}  // namespace mipv6::sim
