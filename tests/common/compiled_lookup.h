// A user-space model of the datapath's policy lookup (bpf/lib/policy.h)
// over a CompiledPolicy: the same searches, probes and order, on hash
// tables. Lets the compiler be checked against the reference evaluator on
// many rulesets without a kernel; the datapath tests repeat it through the
// real programs.
#pragma once

#include <string>
#include <unordered_map>

#include "policy/compiled_policy.h"
#include "policy/reference_evaluator.h"

namespace sluice::testkit {

class CompiledLookup {
 public:
  explicit CompiledLookup(const policy::CompiledPolicy& p);

  policy::Verdict decide(config::Chain chain, const policy::PacketHeaders& pkt) const;

  // Hash probes the last decide() made (a bound the datapath shares).
  int last_probes() const { return probes_; }

 private:
  void context_decide(std::uint8_t context, const policy::PacketHeaders& pkt, std::uint16_t port,
                      sluice_decision& best) const;
  sluice_class_value source_scopes(std::uint8_t context, const policy::PacketHeaders& pkt) const;
  void scope_decide(std::uint8_t context, const sluice_scope_ref& ref,
                    const policy::PacketHeaders& pkt, std::uint16_t port,
                    sluice_decision& best) const;
  void code_decide(std::uint32_t code, const sluice_inline_match& single, std::uint8_t proto,
                   std::uint16_t port, sluice_decision& best) const;
  void group_decide(std::uint32_t group, std::uint8_t proto, std::uint16_t port,
                    sluice_decision& best) const;

  const policy::CompiledPolicy& policy_;
  std::unordered_map<std::string, std::uint32_t> contexts_;
  std::unordered_map<std::string, sluice_class_value> classes_;
  std::unordered_map<std::uint32_t, std::vector<std::uint8_t>> length_sets_;
  std::unordered_map<std::string, sluice_target> targets_;
  std::unordered_map<std::string, sluice_dest_table> tables_;
  std::unordered_map<std::uint32_t, sluice_group> groups_;
  std::unordered_map<std::string, sluice_decision> decisions_;
  mutable int probes_ = 0;
};

}  // namespace sluice::testkit
