#include "policy/compiler.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "policy/abi_values.h"
#include "policy/longest_match.h"
#include "policy/prefilter.h"
#include "policy/prefix_order.h"
#include "policy/rule_groups.h"
#include "policy/scope_destinations.h"
#include "policy/source_scopes.h"

namespace sluice::policy {

namespace {

using config::Family;
using config::Prefix;

// The rules of each context, by context id: the chains' own (rules naming
// no interface) first, then one per (chain, in interface, out interface)
// some rule names. A rule naming several interfaces is in the context of
// each.
std::vector<std::vector<std::uint32_t>> contexts_of(const config::Config& cfg, std::size_t limit,
                                                    CompiledPolicy& out) {
  std::map<std::string, std::uint16_t> iface_ids;
  for (const auto& r : cfg.rules)
    for (const auto* names : {&r.in_interfaces, &r.out_interfaces})
      for (const auto& n : *names) iface_ids.emplace(n, 0);
  for (auto& [name, id] : iface_ids) {
    out.interfaces.push_back(name);
    id = static_cast<std::uint16_t>(out.interfaces.size());
  }
  std::vector<std::vector<std::uint32_t>> rules(SLUICE_CHAIN_COUNT);
  std::map<std::tuple<std::uint8_t, std::uint16_t, std::uint16_t>, std::uint32_t> ids;
  for (std::size_t i = 0; i < cfg.rules.size(); ++i) {
    const auto& r = cfg.rules[i];
    auto chain = abi_chain(r.chain);
    auto index = static_cast<std::uint32_t>(i);
    if (r.in_interfaces.empty() && r.out_interfaces.empty()) {
      rules[chain].push_back(index);
      continue;
    }
    std::vector<std::uint16_t> ins{0}, outs{0};
    if (!r.in_interfaces.empty()) ins.clear();
    if (!r.out_interfaces.empty()) outs.clear();
    for (const auto& n : r.in_interfaces) ins.push_back(iface_ids.at(n));
    for (const auto& n : r.out_interfaces) outs.push_back(iface_ids.at(n));
    for (auto in : ins)
      for (auto o : outs) {
        auto [it, added] = ids.try_emplace({chain, in, o}, rules.size());
        if (added) {
          if (rules.size() >= limit)
            throw CapacityError("rules name " + std::to_string(rules.size() + 1) +
                                    " combinations of chain and interfaces; the datapath holds " +
                                    std::to_string(limit - SLUICE_CHAIN_COUNT),
                                i);
          rules.emplace_back();
          ContextEntry e;
          e.key.chain = chain;
          e.key.in_iface = in;
          e.key.out_iface = o;
          e.id = it->second;
          out.contexts.push_back(e);
          out.context_kinds[chain] |= in && o ? SLUICE_CONTEXT_BOTH
                                      : in    ? SLUICE_CONTEXT_IN
                                              : SLUICE_CONTEXT_OUT;
        }
        rules[it->second].push_back(index);
      }
  }
  return rules;
}

// Rulesets from this size on are compiled on two threads: the second
// builds its share of the scopes' destinations into its own output, with
// its own groups (ids apart from the first's), merged after each context.
constexpr std::size_t kRulesForTwoThreads = 4096;

struct SecondThread {
  SecondThread(const std::vector<config::Rule>& rules, const RuleGroups& first,
               const Limits& limits)
      : groups(first, 2, 2),
        targets{"destination entries", limits.targets, 0, std::vector<std::size_t>(rules.size())},
        tables{"destination tables", limits.tables, 0, std::vector<std::size_t>(rules.size())},
        destinations(rules, groups, part, targets, tables) {}

  RuleGroups groups;
  CompiledPolicy part;
  Usage targets, tables;
  ScopeDestinations destinations;
};

// Builds the scopes' destinations: on the second thread too when there is
// one, the calling thread running `meanwhile` first. Returns, per scope,
// whether the second thread built it.
template <typename Build, typename Meanwhile>
std::vector<std::uint8_t> build_scopes(std::uint32_t count, ScopeDestinations& mine,
                                       SecondThread* second, Build build, Meanwhile meanwhile) {
  std::vector<std::uint8_t> by_second(count);
  if (!second) {
    for (std::uint32_t i = 0; i < count; ++i) build(mine, i);
    meanwhile();
    return by_second;
  }
  // Both take chunks of scopes as they go: scopes differ in size.
  std::atomic<std::uint32_t> next{0};
  constexpr std::uint32_t kChunk = 256;
  auto take = [&](ScopeDestinations& d, std::uint8_t second_one) {
    for (std::uint32_t begin; (begin = next.fetch_add(kChunk)) < count;)
      for (std::uint32_t i = begin; i < count && i < begin + kChunk; ++i) {
        build(d, i);
        by_second[i] = second_one;
      }
  };
  auto other = std::async(std::launch::async, [&] { take(second->destinations, 1); });
  meanwhile();
  take(mine, 0);
  other.get();
  mine.absorb(second->destinations);
  return by_second;
}

// One context's source side: its scopes (each built for the families whose
// addresses look it up) and the source search entries leading to them.
// Returns the last scope id used.
std::uint32_t compile_context(const config::Config& cfg, std::uint8_t context,
                              const std::vector<std::uint32_t>& rules, std::uint32_t first_id,
                              ScopeDestinations& destinations, SecondThread* second,
                              CompiledPolicy& out) {
  if (rules.size() < kRulesForTwoThreads) second = nullptr;
  std::vector<std::uint32_t> from_any;
  for (auto i : rules)
    if (cfg.rules[i].from.any) from_any.push_back(i);
  // The scope of rules from "any" beside the source scopes.
  auto& any_destinations = second ? second->destinations : destinations;
  std::array<std::uint32_t, 2> any_sets{};
  auto build_any = [&] {
    for (Family f : {Family::V4, Family::V6})
      any_sets[family_slot(f)] = any_destinations.build(SLUICE_SCOPE_ANY, context, f, from_any);
  };
  auto any = std::async(second ? std::launch::async : std::launch::deferred, build_any);
  SourceScopes sources(cfg.rules, rules, first_id);
  any.get();

  out.tables.reserve(out.tables.size() + sources.scope_count());
  std::vector<std::array<std::uint32_t, 2>> sets(sources.scope_count());
  std::array<LongestMatchTable, 2> source_tables;
  auto by_second = build_scopes(
      sources.scope_count(), destinations, second,
      [&](ScopeDestinations& d, std::uint32_t i) {
        std::uint32_t id = first_id + 1 + i;
        for (Family f : {Family::V4, Family::V6})
          if (sources.scope_families(id) & (1u << family_slot(f)))
            sets[i][family_slot(f)] = d.build(id, context, f, sources.scope_rules(id));
      },
      [&] {
        for (auto slot : {0u, 1u})
          source_tables[slot] = build_longest_match(sources.prefixes()[slot]);
      });
  for (std::uint32_t i = 0; i < sources.scope_count(); ++i)
    if (by_second[i])
      for (auto& set : sets[i]) set = second->destinations.final_id(set);
  for (auto slot : {0u, 1u})
    out.any_scope[context][slot] = any_destinations.final_id(any_sets[slot]);

  for (auto slot : {0u, 1u}) {
    const auto& table = source_tables[slot];
    out.source_lengths[context][slot] = table.lengths;
    for (const auto& e : table.entries) {
      ClassEntry entry{context, e.prefix, {}};
      entry.value.below = abi_span(e.below);
      if (e.value) {
        // The scopes with something to search for this family.
        const auto& found = sources.source_values()[e.value - 1];
        for (std::uint32_t i = 0; i < found.count; ++i) {
          auto set = sets[found.scope[i].scope - first_id - 1][slot];
          if (set) entry.value.scope[entry.value.count++] = {found.scope[i].scope, set};
        }
      }
      out.classes.push_back(entry);
    }
  }
  return first_id + sources.scope_count();
}

std::size_t most_used(const std::vector<std::size_t>& by_rule) {
  return static_cast<std::size_t>(std::max_element(by_rule.begin(), by_rule.end()) -
                                  by_rule.begin());
}

// Refuses a ruleset that does not fit one generation of a map, naming the
// rule that needs the most of it.
void check_room(const Usage& u, const std::vector<config::Rule>& rules) {
  if (u.used <= u.limit) return;
  std::string msg = "the ruleset needs " + std::to_string(u.used) + " " + u.what +
                    "; the datapath holds " + std::to_string(u.limit);
  if (u.by_rule.empty()) throw CapacityError(msg);
  auto worst = most_used(u.by_rule);
  throw CapacityError(msg + "; rule '" + rules[worst].name + "' needs the most (" +
                          std::to_string(u.by_rule[worst]) + ")",
                      worst);
}

}  // namespace

CompiledPolicy compile(const config::Config& cfg, const Limits& limits) {
  if (cfg.rules.size() > limits.rules)
    throw CapacityError("ruleset has " + std::to_string(cfg.rules.size()) +
                            " rules; the datapath holds at most " + std::to_string(limits.rules),
                        limits.rules);

  CompiledPolicy out;
  for (int c = 0; c < config::kChainCount; ++c) {
    out.chain_defaults[c] = abi_action(cfg.chain_defaults[c]);
    out.chain_audit[c] = cfg.chain_audit[c] ? 1 : 0;
  }
  out.flow_events = cfg.flows.events == config::FlowEvents::All ? SLUICE_FLOW_EVENTS_ALL
                                                                : SLUICE_FLOW_EVENTS_DENIED;
  compile_prefilter(cfg, out);
  out.rule_names.reserve(cfg.rules.size());
  for (const auto& r : cfg.rules) out.rule_names.push_back(r.name);

  const std::size_t n = cfg.rules.size();
  const bool two_threads = n >= kRulesForTwoThreads;
  RuleGroups groups(cfg.rules, 1, two_threads ? 2 : 1);
  Usage targets{"destination entries", limits.targets, 0, std::vector<std::size_t>(n)};
  Usage tables{"destination tables", limits.tables, 0, std::vector<std::size_t>(n)};
  ScopeDestinations destinations(cfg.rules, groups, out, targets, tables);
  std::unique_ptr<SecondThread> second;
  if (two_threads) second = std::make_unique<SecondThread>(cfg.rules, groups, limits);
  auto contexts = contexts_of(cfg, limits.contexts, out);
  out.source_lengths.resize(contexts.size());
  out.any_scope.resize(contexts.size());
  std::uint32_t last_scope = SLUICE_SCOPE_ANY;
  for (std::size_t c = 0; c < contexts.size(); ++c)
    last_scope = compile_context(cfg, static_cast<std::uint8_t>(c), contexts[c], last_scope,
                                 destinations, second.get(), out);
  if (second) {
    targets.add(second->targets);
    tables.add(second->tables);
  }

  Usage source_entries{"source prefix entries", limits.source_entries, out.classes.size(),
                       std::vector<std::size_t>(n)};
  for (std::size_t i = 0; i < n; ++i) source_entries.by_rule[i] = cfg.rules[i].from.prefixes.size();
  check_room(source_entries, cfg.rules);
  check_room(targets, cfg.rules);
  check_room(tables, cfg.rules);
  check_room({"distinct destination length sets", limits.length_sets, out.length_sets.size(), {}},
             cfg.rules);

  groups.emit(out);
  if (second) {
    second->groups.emit(out);
    groups.count_groups_of(second->groups);
  }
  check_room({"rule groups", limits.groups, out.groups.size(), groups.groups_per_rule()},
             cfg.rules);
  check_room(
      {"protocol/port entries", limits.decisions, out.decisions.size(), groups.groups_per_rule()},
      cfg.rules);
  return out;
}

}  // namespace sluice::policy
