// The programs attached to one interface: XDP, and tc clsact ingress and
// egress. Attaching happens in the constructor, detaching in the
// destructor, so an interface is never left half attached.
#pragma once

#include <string>

namespace sluice::datapath {

class Datapath;

enum class XdpMode { Native, Generic };

// Which programs go on the interface: all three, or only the tc ones
// (containers' host ends: their packets are judged at tc ingress anyway,
// and an XDP program on a veth costs its attach and detach and changes how
// the kernel delivers to it).
enum class Hooks { XdpAndTc, TcOnly };

class Attachment {
 public:
  // Tries native XDP first, then generic. Programs a previous sluiced left
  // attached are replaced in place (no moment without a filter); another
  // program's XDP attachment is never touched. Throws BpfError naming the
  // interface; nothing stays attached then.
  Attachment(const Datapath& dp, const std::string& ifname, Hooks hooks = Hooks::XdpAndTc);
  ~Attachment();

  // Forgets the attachment without detaching: the programs keep enforcing
  // after this process is gone (sluiced --keep-datapath).
  void leave_attached() noexcept;
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;

  const std::string& ifname() const { return ifname_; }
  int ifindex() const { return ifindex_; }
  XdpMode xdp_mode() const { return xdp_mode_; }

 private:
  void attach_xdp(const Datapath& dp);
  void detach() noexcept;

  std::string ifname_;
  int ifindex_ = 0;
  XdpMode xdp_mode_ = XdpMode::Native;
  bool xdp_ = false, tc_ingress_ = false, tc_egress_ = false, clsact_created_ = false;
};

}  // namespace sluice::datapath
