// Shared state of the datapath tests: the programs are verified once per
// test binary (several seconds), and each test resets what it uses.
#pragma once

#include <gtest/gtest.h>
#include <linux/pkt_cls.h>

#include <string>

#include "common/packet_builder.h"
#include "config/parser.h"
#include "datapath/datapath.h"
#include "datapath/test_run.h"
#include "policy/compiler.h"

namespace sluice::testkit {

inline datapath::Datapath& shared_datapath() {
  static datapath::Datapath dp;
  return dp;
}

inline config::Config parse_or_die(const std::string& toml) {
  auto r = config::parse_string(toml, "test.toml");
  if (!r.config) throw std::runtime_error(config::format(r.diagnostics));
  return *r.config;
}

inline datapath::LocalAddress local(const std::string& addr) {
  auto p = config::parse_prefix(addr);
  if (!p.prefix) throw std::runtime_error(p.error);
  return {p.prefix->family, p.prefix->addr};
}

class DatapathTest : public ::testing::Test {
 protected:
  datapath::Datapath& dp = shared_datapath();

  void SetUp() override {
    dp.clear_conntrack();
    dp.set_local_addresses({});
  }
  void TearDown() override { dp.clear_conntrack(); }

  config::Config apply(const std::string& toml) {
    auto cfg = parse_or_die(toml);
    dp.apply(policy::compile(cfg));
    return cfg;
  }

  std::uint32_t ingress(const std::vector<std::uint8_t>& frame) {
    return datapath::test_run(dp.tc_ingress_fd(), frame).retval;
  }
  datapath::TestRunResult ingress_run(const std::vector<std::uint8_t>& frame) {
    return datapath::test_run(dp.tc_ingress_fd(), frame);
  }
  std::uint32_t egress(const std::vector<std::uint8_t>& frame) {
    return datapath::test_run(dp.tc_egress_fd(), frame).retval;
  }
  std::uint64_t drops(sluice_drop_reason r) { return dp.drop_counter(r).packets; }
};

}  // namespace sluice::testkit
