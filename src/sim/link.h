// A simulated broadcast segment (an Ethernet switch with no learning delay): interfaces attach
// and detach at run time; a frame sent by one interface reaches every other attached interface
// whose MAC matches its destination, or, for a group address (33:33:xx, RFC 2464 §7), those
// that listen to it (Interface::listens: all-nodes reaches everyone; other groups only their
// members and the interfaces without a multicast filter), in attachment order. The link keeps
// an index of members per group, so a solicited-node frame costs its few receivers, not one
// check per attached interface (100,000 mobile nodes on one access link).
// The sender is recognised by the frame's source MAC: a port does not receive its own frames.
//
// Timing of one frame, per sender (each interface has its own FIFO transmitter):
//   start   = max(now, end of the sender's previous frame)
//   finish  = start + ceil(wire_size * 8 / bandwidth)     (wire_size = 14-byte Ethernet header +
//                                                          IPv6 packet; no preamble, no FCS)
//   arrival = finish + delay                              (delivered to all receivers at once)
// Drops, in this order:
//   queue: a frame that would wait behind `queue_limit` frames already waiting (not counting the
//          one being serialised) is tail-dropped and takes no transmitter time;
//   loss:  with the probability in force at `start` (a loss burst covering `start` overrides the
//          base probability), the frame is lost after occupying the transmitter.
// Loss is decided once per frame (all receivers lose it), drawing from the link's own seeded
// stream only when 0 < p < 1. Frames already accepted are delivered even if the sender detaches
// meanwhile; receivers are those attached at the arrival instant.
//
// Every frame the link carries (i.e. not dropped) is written to its pcap, if any, at its arrival
// time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/rng.h"
#include "sim/mac.h"
#include "sim/node.h"
#include "sim/pcap_writer.h"
#include "sim/scheduler.h"

namespace mipv6::sim {

// RFC 2464 §7: ff02::1 on Ethernet; every interface receives it.
inline constexpr MacAddress kAllNodesMac{{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}};

struct LinkParams {
  Duration delay{0};                // propagation delay
  std::uint64_t bandwidth_bps = 0;  // 0: unlimited (no serialisation delay)
  double loss = 0.0;                // probability that a frame is lost
  std::size_t queue_limit = 0;      // frames waiting per sender; 0: unlimited
};

// A window [start, end) during which frames starting transmission are lost with `loss`.
struct LossBurst {
  TimePoint start;
  TimePoint end;
  double loss = 1.0;
};

struct LinkCounters {
  std::uint64_t frames_sent = 0;           // handed to the link by senders
  std::uint64_t frames_dropped_queue = 0;  // tail drops (queue_limit)
  std::uint64_t frames_dropped_loss = 0;   // random loss and loss bursts
  std::uint64_t frames_carried = 0;        // arrived at the far end of the medium
  std::uint64_t frames_delivered = 0;      // handed to receiving interfaces (one per receiver)
  friend bool operator==(const LinkCounters&, const LinkCounters&) = default;
};

// A Link must outlive the scheduler runs that deliver its frames (Simulation guarantees it).
class Link {
 public:
  Link(Scheduler& scheduler, std::string name, LinkParams params, std::uint64_t seed);
  ~Link();  // detaches whatever is still attached, without callbacks
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  const std::string& name() const { return name_; }
  const LinkParams& params() const { return params_; }
  void set_params(const LinkParams& params) { params_ = params; }
  const LinkCounters& counters() const { return counters_; }

  void add_loss_burst(const LossBurst& burst) { bursts_.push_back(burst); }
  // The loss probability for a frame starting transmission at `t`.
  double loss_at(TimePoint t) const;
  Duration serialisation_delay(std::size_t wire_bytes) const;

  void set_pcap(std::unique_ptr<PcapWriter> pcap) { pcap_ = std::move(pcap); }
  // Called for every frame the link carries, at its arrival time (before delivery): what the
  // scenario's signalling trace listens to.
  using Observer = std::function<void(const Link& link, TimePoint at, const Frame& frame)>;
  void set_observer(Observer observer) { observer_ = std::move(observer); }
  PcapWriter* pcap() const { return pcap_.get(); }

  // Attaches `iface` (detaching it from its current link first, with link-down there), then
  // calls its node's on_link_up. Attaching to the link it is on does nothing.
  void attach(Interface& iface);
  // Detaches `iface` and calls its node's on_link_down. No-op if it is not on this link.
  void detach(Interface& iface);
  std::size_t attached_count() const { return attached_.size() - holes_; }

  // The static neighbour table: the MAC of the attached interface holding `address`.
  std::optional<MacAddress> resolve(const wire::Ipv6Address& address) const;

  // Transmits `frame` from `from` (which must be attached here); see the timing rules above.
  void send(Interface& from, Frame frame);

 private:
  friend class Interface;
  void learn(Interface& iface, const wire::Ipv6Address& address);
  void unlearn(Interface& iface, const wire::Ipv6Address& address);
  void forget(Interface& iface);  // detach without callback (interface destroyed)
  // The group index: `iface`'s memberships (or its place among the unfiltered interfaces)
  // added at attach / when its filter turns on, removed at detach.
  void index(Interface& iface);
  void unindex(Interface& iface);
  static bool attached_earlier(const Interface* a, const Interface* b);
  static void insert_ordered(std::vector<Interface*>& list, Interface* iface);
  void add_listener(Interface& iface, const MacAddress& group);
  void remove_listener(Interface& iface, const MacAddress& group);
  void deliver(const Frame& frame);
  void deliver_to_group(const Frame& frame);
  void deliver_to(Interface& receiver, const Frame& frame);
  void compact();

  Scheduler& scheduler_;
  std::string name_;
  LinkParams params_;
  core::SplitMix64 rng_;
  std::vector<LossBurst> bursts_;
  std::unique_ptr<PcapWriter> pcap_;
  Observer observer_;
  LinkCounters counters_;
  // Attachment order = multicast delivery order. Detaching leaves a hole (nullptr) so that a
  // delivery in progress can keep iterating; holes are compacted between deliveries, once
  // they are half of the vector.
  std::vector<Interface*> attached_;
  std::unordered_map<Interface*, std::size_t> slot_of_;
  std::size_t holes_ = 0;
  int delivering_ = 0;
  std::uint64_t next_attach_seq_ = 1;
  // Members of each group (all-nodes excepted), and the interfaces without a multicast filter;
  // each list in attachment order (Interface::attach_seq_).
  std::unordered_map<MacAddress, std::vector<Interface*>> members_;
  std::vector<Interface*> unfiltered_;
  // The receivers of the group frame being delivered; an interface destroyed meanwhile is
  // replaced by nullptr.
  std::vector<Interface*> group_receivers_;
  std::unordered_map<MacAddress, Interface*> by_mac_;
  std::unordered_map<wire::Ipv6Address, Interface*> neighbours_;
};

}  // namespace mipv6::sim
