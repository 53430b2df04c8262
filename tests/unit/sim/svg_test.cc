// The SVG pictures of hand-built ScenarioResults: well-formed XML (checked by a tiny parser
// below), one lifeline per node in a stable order, one arrow per message, lost messages with a
// cross, escaping, the timeline's phase bars, markers and packet dots, empty results.
#include "sim/svg.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace mipv6::sim {
namespace {

using namespace std::chrono_literals;

// ----------------------------------------------------------------------------- XML checker

// What the checker found: empty `error` when the document is well-formed.
struct XmlDocument {
  std::string error;
  std::string root;
  std::map<std::string, std::string> root_attributes;
  std::map<std::string, int> elements;  // name -> count
};

// Only &amp; &lt; &gt; &quot; &apos; and numeric references are defined without a DTD.
bool valid_reference(const std::string& text, std::size_t amp) {
  const std::size_t semi = text.find(';', amp);
  if (semi == std::string::npos) return false;
  const std::string name = text.substr(amp + 1, semi - amp - 1);
  static const char* const kNamed[] = {"amp", "lt", "gt", "quot", "apos"};
  if (std::find(std::begin(kNamed), std::end(kNamed), name) != std::end(kNamed)) return true;
  return name.size() > 1 && name[0] == '#' &&
         std::all_of(name.begin() + 1, name.end(), [](char c) { return std::isdigit(c) != 0; });
}

class XmlChecker {
 public:
  explicit XmlChecker(const std::string& text) : s_(text) {}

  XmlDocument check() {
    if (s_.rfind("<?xml", 0) == 0) pos_ = s_.find("?>") + 2;
    while (doc_.error.empty() && pos_ < s_.size())
      step();
    if (doc_.error.empty() && !stack_.empty()) doc_.error = "unclosed <" + stack_.back() + ">";
    if (doc_.error.empty() && doc_.root.empty()) doc_.error = "no root element";
    return doc_;
  }

 private:
  void fail(const std::string& why) {
    if (doc_.error.empty()) doc_.error = why + " at " + std::to_string(pos_);
  }

  void step() {
    if (s_[pos_] != '<') return text();
    if (s_.compare(pos_, 4, "<!--") == 0) {
      pos_ = s_.find("-->", pos_) + 3;
      return;
    }
    if (s_.compare(pos_, 2, "</") == 0) return close_tag();
    open_tag();
  }

  void text() {
    const std::size_t end = std::min(s_.find('<', pos_), s_.size());
    for (std::size_t i = pos_; i < end; ++i) {
      if (s_[i] == '&' && !valid_reference(s_, i)) return fail("bad reference");
      if (s_[i] == '>') return fail("raw > in text");
      if (stack_.empty() && !std::isspace(static_cast<unsigned char>(s_[i]))) {
        return fail("text outside the root");
      }
    }
    pos_ = end;
  }

  std::string name() {
    const std::size_t start = pos_;
    while (pos_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) ||
                                s_[pos_] == '-' || s_[pos_] == ':' || s_[pos_] == '_')) {
      ++pos_;
    }
    return s_.substr(start, pos_ - start);
  }

  void skip_space() {
    while (pos_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[pos_])))
      ++pos_;
  }

  void close_tag() {
    pos_ += 2;
    const std::string n = name();
    if (stack_.empty() || stack_.back() != n) return fail("mismatched </" + n + ">");
    stack_.pop_back();
    skip_space();
    if (pos_ >= s_.size() || s_[pos_] != '>') return fail("bad closing tag");
    ++pos_;
  }

  void open_tag() {
    ++pos_;
    const std::string n = name();
    if (n.empty()) return fail("empty tag name");
    if (stack_.empty() && !doc_.root.empty()) return fail("second root <" + n + ">");
    const bool is_root = stack_.empty();
    if (is_root) doc_.root = n;
    ++doc_.elements[n];
    std::map<std::string, std::string> attributes;
    for (;;) {
      skip_space();
      if (pos_ >= s_.size()) return fail("unterminated tag");
      if (s_.compare(pos_, 2, "/>") == 0) {
        pos_ += 2;
        break;
      }
      if (s_[pos_] == '>') {
        ++pos_;
        stack_.push_back(n);
        break;
      }
      const std::string attribute = name();
      if (attribute.empty() || pos_ + 1 >= s_.size() || s_[pos_] != '=' ||
          (s_[pos_ + 1] != '"' && s_[pos_ + 1] != '\'')) {
        return fail("bad attribute in <" + n + ">");
      }
      const char quote = s_[pos_ + 1];
      const std::size_t end = s_.find(quote, pos_ + 2);
      if (end == std::string::npos) return fail("unterminated attribute");
      const std::string value = s_.substr(pos_ + 2, end - pos_ - 2);
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '<') return fail("raw < in attribute");
        if (value[i] == '&' && !valid_reference(value, i)) return fail("bad reference");
      }
      if (!attributes.emplace(attribute, value).second) return fail("duplicate attribute");
      pos_ = end + 1;
    }
    if (is_root) doc_.root_attributes = attributes;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
  std::vector<std::string> stack_;
  XmlDocument doc_;
};

XmlDocument check_xml(const std::string& text) {
  return XmlChecker(text).check();
}

// A well-formed document with one <svg> root that has its size and viewBox.
void expect_valid_svg(const std::string& svg) {
  const XmlDocument doc = check_xml(svg);
  ASSERT_EQ(doc.error, "") << svg.substr(0, 2000);
  EXPECT_EQ(doc.root, "svg");
  for (const char* attribute : {"width", "height", "viewBox", "xmlns"}) {
    EXPECT_TRUE(doc.root_attributes.count(attribute)) << attribute;
  }
  EXPECT_EQ(doc.root_attributes.at("viewBox"),
            "0 0 " + doc.root_attributes.at("width") + " " + doc.root_attributes.at("height"));
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

TEST(XmlChecker, CatchesWhatItMustCatch) {
  EXPECT_EQ(check_xml("<svg a=\"1\"><g><text>x &amp; y</text></g></svg>").error, "");
  EXPECT_NE(check_xml("<svg><g></svg>").error, "");
  EXPECT_NE(check_xml("<svg><text>a & b</text></svg>").error, "");
  EXPECT_NE(check_xml("<svg><text>a > b</text></svg>").error, "");
  EXPECT_NE(check_xml("<svg a=\"<\"/>").error, "");
  EXPECT_NE(check_xml("<svg/><svg/>").error, "");
  EXPECT_NE(check_xml("<svg>").error, "");
  EXPECT_NE(check_xml("").error, "");
}

// ----------------------------------------------------------------------------- fixtures

TimePoint at_ms(double ms) {
  return TimePoint(std::chrono::round<Duration>(std::chrono::duration<double, std::milli>(ms)));
}
Duration ms(double value) {
  return at_ms(value).time_since_epoch();
}

SignalRecord signal(double at, std::optional<double> arrived, std::string from, std::string to,
                    std::string label) {
  return {at_ms(at),        arrived ? std::optional(at_ms(*arrived)) : std::nullopt,
          std::move(from),  std::move(to),
          std::move(label), "b"};
}

// Route optimisation after the move to b (§5.2.5, §11.7.2), then returning home (§11.5.4),
// the correspondent's acknowledgement of the deletion lost. Listed with the correspondent
// first, so that the lifeline order cannot come from the order of appearance.
ScenarioResult signalling_result() {
  ScenarioResult r;
  r.name = "ro-and-home";
  r.simulated = 30s;
  r.signalling = {
      signal(15000.407, 15001.407, "ar-b", "mn", "RA"),
      signal(15100, 15111, "mn", "ha", "BU(H) seq 3"),
      signal(15111, 15124, "ha", "mn", "BA 0"),
      signal(15124, 15149, "mn", "cn", "HoTI (tunnel)"),
      signal(15124, 15135, "mn", "cn", "CoTI"),
      signal(15135, 15146, "cn", "mn", "CoT"),
      signal(15149, 15174, "cn", "mn", "HoT (tunnel)"),
      signal(15174, 15185, "mn", "cn", "BU()"),
      signal(15185, 15196, "cn", "mn", "BA 0"),
      signal(25037.49, 25038.49, "ha", "mn", "RA"),
      signal(25100, 25101, "mn", "ha", "BU(H,dereg) seq 5"),
      signal(25101, 25102, "ha", "mn", "BA 0"),
      signal(25102, 25113, "mn", "cn", "BU(del)"),
      signal(25113, std::nullopt, "cn", "mn", "BA 0"),
  };
  std::rotate(r.signalling.begin(), r.signalling.begin() + 5, r.signalling.begin() + 6);
  return r;
}

// The lifeline names in drawing order (left to right).
std::vector<std::string> lifeline_names(const std::string& svg) {
  static const std::regex kName(
      R"re(<text x="([0-9.]+)" y="53" text-anchor="middle" font-weight="bold">([^<]*)</text>)re");
  std::vector<std::pair<double, std::string>> found;
  for (std::sregex_iterator it(svg.begin(), svg.end(), kName), end; it != end; ++it) {
    found.emplace_back(std::stod((*it)[1]), (*it)[2]);
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> names;
  for (const auto& entry : found)
    names.push_back(entry.second);
  return names;
}

struct Arrow {
  double x1, y1, x2, y2;
};

std::vector<Arrow> arrows(const std::string& svg) {
  static const std::regex kArrow(
      R"re(<line class="arrow" x1="([-0-9.]+)" y1="([-0-9.]+)" x2="([-0-9.]+)" y2="([-0-9.]+)")re");
  std::vector<Arrow> found;
  for (std::sregex_iterator it(svg.begin(), svg.end(), kArrow), end; it != end; ++it) {
    found.push_back(
        {std::stod((*it)[1]), std::stod((*it)[2]), std::stod((*it)[3]), std::stod((*it)[4])});
  }
  return found;
}

// ----------------------------------------------------------------------------- sequence chart

TEST(SequenceChart, OneLifelinePerNodeOfTheWindowInTheStableOrder) {
  const std::string svg = sequence_chart_svg(signalling_result(), at_ms(15000), at_ms(16000));
  expect_valid_svg(svg);
  EXPECT_EQ(occurrences(svg, "class=\"lifeline\""), 4u);
  EXPECT_EQ(lifeline_names(svg), (std::vector<std::string>{"mn", "ar-b", "ha", "cn"}));
}

TEST(SequenceChart, OnlyNodesThatAppearInTheWindowGetALifeline) {
  ScenarioResult r = signalling_result();
  r.signalling.push_back(signal(26000, 26001, "ha2", "mn", "BA 0"));
  r.signalling.push_back(signal(26002, 26003, "ar-a", "mn", "RA"));
  const std::string home = sequence_chart_svg(r, at_ms(25000), at_ms(26000));
  EXPECT_EQ(lifeline_names(home), (std::vector<std::string>{"mn", "ha", "cn"}));
  const std::string all = sequence_chart_svg(r, TimePoint{}, at_ms(30000));
  EXPECT_EQ(lifeline_names(all),
            (std::vector<std::string>{"mn", "ar-a", "ar-b", "ha", "ha2", "cn"}));
}

TEST(SequenceChart, OneArrowPerMessageAndACrossForTheLostOne) {
  const std::string svg = sequence_chart_svg(signalling_result(), at_ms(25000), at_ms(26000));
  expect_valid_svg(svg);
  EXPECT_EQ(occurrences(svg, "<g class=\"message\">"), 4u);
  EXPECT_EQ(occurrences(svg, "<g class=\"message lost\">"), 1u);
  EXPECT_EQ(arrows(svg).size(), 4u);
  EXPECT_EQ(occurrences(svg, "class=\"cross\""), 2u);  // two strokes of one cross
  EXPECT_NE(svg.find(">25113.000 ms</text>"), std::string::npos);
  EXPECT_NE(svg.find("5 message(s)."), std::string::npos);
}

TEST(SequenceChart, ArrowsSlopeDownToTheirArrivalAndPointFromSenderToReceiver) {
  const std::string svg = sequence_chart_svg(signalling_result(), at_ms(15000), at_ms(16000));
  const std::vector<Arrow> a = arrows(svg);
  ASSERT_EQ(a.size(), 9u);
  constexpr double kRow = 28;
  // Rows in sending order; BA 0 (row 2) arrives at 15124, when the HoTI (row 3) is sent.
  EXPECT_DOUBLE_EQ(a[2].y2, a[3].y1);
  EXPECT_DOUBLE_EQ(a[3].y1 - a[2].y1, kRow);
  // The HoTI through the tunnel (15124 -> 15149) arrives when the HoT is sent (row 6), three
  // rows down; the CoTI sent at the same instant gets its own row.
  EXPECT_DOUBLE_EQ(a[3].y2, a[6].y1);
  EXPECT_DOUBLE_EQ(a[4].y1, a[3].y1 + kRow);
  // ha -> mn goes right to left; mn is the first lifeline.
  EXPECT_GT(a[2].x1, a[2].x2);
  EXPECT_LT(a[1].x1, a[1].x2);
  for (const Arrow& arrow : a)
    EXPECT_GT(arrow.y2, arrow.y1);
}

TEST(SequenceChart, WindowIsHalfOpen) {
  const ScenarioResult r = signalling_result();
  EXPECT_EQ(arrows(sequence_chart_svg(r, at_ms(15100), at_ms(15124))).size(), 2u);
  EXPECT_EQ(arrows(sequence_chart_svg(r, at_ms(15100), at_ms(15124.001))).size(), 4u);
}

TEST(SequenceChart, EscapesLabelsAndNodeNames) {
  ScenarioResult r;
  r.signalling = {signal(1, 2, "mn", "<cn&>", "BU \"<&>\" 'x'")};
  const std::string svg = sequence_chart_svg(r, TimePoint{}, at_ms(10));
  expect_valid_svg(svg);
  EXPECT_NE(svg.find("BU &quot;&lt;&amp;&gt;&quot; &apos;x&apos;"), std::string::npos);
  EXPECT_NE(svg.find("&lt;cn&amp;&gt;"), std::string::npos);
  EXPECT_EQ(svg.find("<&>"), std::string::npos);
}

TEST(SequenceChart, CapsTheMessagesAndSaysHowManyWereLeftOut) {
  ScenarioResult r;
  for (int i = 0; i < 100; ++i) {
    r.signalling.push_back(signal(10.0 * i, 10.0 * i + 1, i % 2 ? "mn" : "ar-a",
                                  i % 2 ? "ar-a" : "mn", i % 2 ? "RS" : "RA"));
  }
  const std::string svg = sequence_chart_svg(r, TimePoint{}, at_ms(2000));
  expect_valid_svg(svg);
  EXPECT_EQ(arrows(svg).size(), kMaxSequenceMessages);
  EXPECT_NE(svg.find("60 message(s); 40 more in this window not shown."), std::string::npos);
  // The first ones are kept.
  EXPECT_NE(svg.find(">590.000 ms</text>"), std::string::npos);
  EXPECT_EQ(svg.find(">600.000 ms</text>"), std::string::npos);
}

TEST(SequenceChart, TitleGivesTheWindowAndTheHandoverItBelongsTo) {
  ScenarioResult r = signalling_result();
  r.handovers.resize(2);
  r.handovers[0].to = "b";
  r.handovers[0].at = at_ms(15000);
  r.handovers[1].to = "home";
  r.handovers[1].at = at_ms(25000);
  EXPECT_NE(sequence_chart_svg(r, at_ms(15000), at_ms(16000))
                .find(">Signalling from 15000.000 ms to 16000.000 ms (handover #1 to b)</text>"),
            std::string::npos);
  EXPECT_NE(sequence_chart_svg(r, at_ms(25100), at_ms(26000)).find("(handover #2 to home)"),
            std::string::npos);
  EXPECT_NE(sequence_chart_svg(r, TimePoint{}, at_ms(5000))
                .find(">Signalling from 0.000 ms to 5000.000 ms</text>"),
            std::string::npos);
}

TEST(SequenceChart, EmptyWindowIsStillAValidPicture) {
  const std::string svg = sequence_chart_svg(ScenarioResult{}, TimePoint{}, at_ms(1000));
  expect_valid_svg(svg);
  EXPECT_EQ(occurrences(svg, "class=\"lifeline\""), 0u);
  EXPECT_NE(svg.find("no signalling in this window"), std::string::npos);
}

TEST(SequenceChart, MessageToItselfIsALoopAndOutputIsDeterministic) {
  ScenarioResult r;
  r.signalling = {signal(1, 1.5, "ha", "ha", "NS (DAD)"),
                  signal(2, std::nullopt, "ha", "ha", "NA")};
  const std::string svg = sequence_chart_svg(r, TimePoint{}, at_ms(10));
  expect_valid_svg(svg);
  EXPECT_EQ(occurrences(svg, "<polyline"), 2u);
  EXPECT_EQ(occurrences(svg, "class=\"cross\""), 2u);
  EXPECT_EQ(svg, sequence_chart_svg(r, TimePoint{}, at_ms(10)));
}

// ----------------------------------------------------------------------------- timeline

HandoverReport handover(std::string to, double at, std::optional<double> md,
                        std::optional<double> hr, std::optional<double> rr,
                        std::optional<double> total) {
  HandoverReport h;
  h.to = std::move(to);
  h.at = at_ms(at);
  h.router_discovery = ms(10);
  h.address_configuration = ms(0.5);
  if (md) h.movement_detection = ms(*md);
  if (hr) h.home_registration = ms(*hr);
  if (rr) h.return_routability = ms(*rr);
  if (total) h.total = ms(*total);
  h.packets_sent = 3;
  h.packets_lost = 1;
  return h;
}

// Two handovers (b: complete; a: the home agent crashed, so no registration and no data),
// downlink CBR every 50 ms around them and an uplink flow that the picture leaves out.
ScenarioResult timeline_result() {
  ScenarioResult r;
  r.name = "timeline <&>";
  r.simulated = 20s;
  r.handovers = {handover("b", 5000, 100, 24, 44, 171),
                 handover("a", 10000, 100, std::nullopt, std::nullopt, std::nullopt)};
  r.timeline = {{at_ms(5000), "move to b"}, {at_ms(9900), "ha crash"}, {at_ms(10000), "move to a"}};
  r.signalling = {signal(5124, 5149, "mn", "cn", "HoTI (tunnel)")};
  std::uint32_t seq = 0;
  for (double t = 4950; t < 5300; t += 50, ++seq) {
    PacketRecord p{"cbr-down", seq, at_ms(t), at_ms(t + 11), PathKind::kRouteOptimized};
    if (t < 5000) p.path = PathKind::kHome;
    if (t >= 5000 && t < 5150) p = {"cbr-down", seq, at_ms(t), std::nullopt, std::nullopt};
    if (t >= 5150 && t < 5200) p.path = PathKind::kTunnel;
    r.packets.push_back(p);
  }
  r.packets.push_back({"cbr-up", 0, at_ms(5000), at_ms(5011), PathKind::kTunnel});
  r.flows = {{"cbr-down", seq, seq - 3, 3, 2, 1, 1, ms(11), ms(11), ms(11)},
             {"cbr-up", 1, 1, 0, 0, 1, 0, ms(11), ms(11), ms(11)}};
  return r;
}

TEST(Timeline, IsAValidSvgWithTitleLegendAndAxesInSeconds) {
  const std::string svg = handover_timeline_svg(timeline_result());
  expect_valid_svg(svg);
  EXPECT_NE(svg.find("Scenario timeline &lt;&amp;&gt;: handover timeline"), std::string::npos);
  EXPECT_NE(svg.find(">time since the start of the run (s)</text>"), std::string::npos);
  EXPECT_NE(svg.find(">time since the move (s)</text>"), std::string::npos);
  for (const char* legend : {"router discovery", "address configuration", "movement detection",
                             "home registration", "return routability", "first packet",
                             "packet direct", "packet tunnel", "packet home", "packet lost"}) {
    EXPECT_NE(svg.find(std::string(">") + legend + "</text>"), std::string::npos) << legend;
  }
  // The run axis ends on the 20 s tick, every 2 s.
  EXPECT_NE(svg.find(">20</text>"), std::string::npos);
  EXPECT_NE(svg.find(">18</text>"), std::string::npos);
}

TEST(Timeline, OneBarPerPhaseThatHappened) {
  const std::string svg = handover_timeline_svg(timeline_result());
  // b: all six; a: router discovery, address configuration, movement detection.
  EXPECT_EQ(occurrences(svg, "<rect class=\"phase\""), 9u);
  EXPECT_NE(svg.find("<title>home registration 24.000 ms</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>return routability 44.000 ms</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>first packet 171.000 ms</title>"), std::string::npos);
  EXPECT_NE(svg.find("<title>address configuration 0.500 ms</title>"), std::string::npos);
}

TEST(Timeline, MovesAndFailuresAreVerticalMarkers) {
  const std::string svg = handover_timeline_svg(timeline_result());
  // Whole run: 2 moves and 1 failure. Rows: the next move and the crash fall after b's span;
  // legend: one of each.
  EXPECT_EQ(occurrences(svg, "class=\"marker move\""), 3u);
  EXPECT_EQ(occurrences(svg, "class=\"marker failure\""), 2u);
}

double x_of_bar(const std::string& svg, const std::string& title) {
  const std::size_t title_at = svg.find("<title>" + title);
  const std::size_t rect_at = svg.rfind("<rect class=\"phase\" x=\"", title_at);
  return std::stod(svg.substr(rect_at + 23));
}

TEST(Timeline, ReturnRoutabilityStartsAtTheFirstHoTIOrCoTI) {
  ScenarioResult r = timeline_result();
  const double recorded = x_of_bar(handover_timeline_svg(r), "return routability");
  r.signalling.clear();  // then: right after the home registration (100 + 24 ms), the same
  EXPECT_DOUBLE_EQ(x_of_bar(handover_timeline_svg(r), "return routability"), recorded);
  r.signalling = {signal(5300, 5325, "mn", "cn", "CoTI")};
  EXPECT_GT(x_of_bar(handover_timeline_svg(r), "return routability"), recorded);
}

TEST(Timeline, OneDotPerDownlinkPacketColouredByOutcome) {
  const std::string svg = handover_timeline_svg(timeline_result());
  // Whole run: 7 downlink packets (1 home, 3 lost, 1 tunnel, 2 direct); b's row (its axis
  // spans 0.2 s): the 5 sent from the move to 200 ms after it; the legend: one of each.
  EXPECT_EQ(occurrences(svg, "<circle"), 7u + 5u + 4u);
  EXPECT_EQ(occurrences(svg, "fill=\"#d62728\"/>"), 3u + 3u + 1u);
  EXPECT_EQ(occurrences(svg, "fill=\"#7f7f7f\"/>"), 1u + 0u + 1u);
  EXPECT_EQ(occurrences(svg, "fill=\"#1f77b4\"/>"), 1u + 1u + 1u);
  EXPECT_EQ(occurrences(svg, "fill=\"#2ca02c\"/>"), 2u + 1u + 1u);
  EXPECT_EQ(svg.find(">cbr-up</text>"), std::string::npos);
}

TEST(Timeline, EmptyResultIsStillAValidPicture) {
  const std::string svg = handover_timeline_svg(ScenarioResult{});
  expect_valid_svg(svg);
  EXPECT_NE(svg.find("no handovers"), std::string::npos);
  EXPECT_NE(svg.find("no downlink packets"), std::string::npos);
  EXPECT_EQ(occurrences(svg, "<rect class=\"phase\""), 0u);
}

TEST(Timeline, SameResultGivesTheSameBytes) {
  EXPECT_EQ(handover_timeline_svg(timeline_result()), handover_timeline_svg(timeline_result()));
}

TEST(XmlEscape, EscapesTheFiveSpecialCharactersAndControlCharacters) {
  EXPECT_EQ(xml_escape("a<b>&\"c\"'"), "a&lt;b&gt;&amp;&quot;c&quot;&apos;");
  EXPECT_EQ(xml_escape(std::string("x\x01y\tz", 5)), "x?y\tz");
}

}  // namespace
}  // namespace mipv6::sim
