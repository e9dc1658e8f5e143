// The datapath as a router between a lan and a wan (see lab.h): the
// ruleset, masquerade and port forwards of tests/integration/router_test.sh,
// and packet tables run through the loaded programs on the lab's
// interfaces. A table row is one packet at one hook with the verdict and
// the frame the program must leave; rows of one table share conntrack, so
// a table tells a flow's story packet by packet.
#pragma once

#include <linux/pkt_cls.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "datapath/fixture.h"
#include "datapath/lab.h"

namespace sluice::testkit {

using Frame = std::vector<std::uint8_t>;

enum class Hook { TcIngress, TcEgress, Xdp };

struct Row {
  std::string what;
  Hook hook;
  std::string interface;  // lan0 or wan0
  Frame in;
  std::uint32_t verdict;  // TC_ACT_* or XDP_*
  // The frame as the program must leave it: empty for "untouched". XDP
  // frames that leave get the MACs of the way out (out_macs).
  Frame out = {};
  std::function<void(const Frame&)> check = nullptr;  // instead of out, when a field is random
};

// Sets the Ethernet addresses of a frame to dst and src.
Frame with_macs(Frame f, const Mac& dst, const Mac& src);

// A TCP segment over IPv4 without payload, TTL 64.
Frame bare_tcp4(const char* src, std::uint16_t sport, const char* dst, std::uint16_t dport,
                std::uint8_t flags);

class RouterTest : public DatapathTest {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;
  void TearDown() override;

  // Runs the rows in order; on a row that fails, says which and stops.
  void run(const std::vector<Row>& table);
  datapath::TestRunResult run_one(Hook hook, const std::string& interface, const Frame& in);

  static std::unique_ptr<LabNetns> lab_;
};

}  // namespace sluice::testkit
