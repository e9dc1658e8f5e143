#include "policy/compiler.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <map>
#include <string>
#include <tuple>

#include "policy/abi_values.h"
#include "policy/longest_match.h"
#include "policy/prefilter.h"
#include "policy/prefix_order.h"
#include "policy/rule_groups.h"
#include "policy/source_scopes.h"

namespace sluice::policy {

namespace {

using config::Family;
using config::Prefix;

Prefix whole_family(Family f) {
  Prefix p;
  p.family = f;
  p.length = 0;
  return p;
}

// The maps' room for one generation, and what one rule may be blamed for.
struct Usage {
  const char* what;
  std::size_t limit;
  std::size_t used = 0;
  std::vector<std::size_t> by_rule;
};

// Builds scopes' destination side: a table of the destination prefixes a
// small scope's rules name, each with the code of the rules naming it; or
// for a larger scope, the prefixes searched by longest match, each with
// the code of the rules that decide addresses whose longest match it is.
class Scopes {
 public:
  Scopes(const config::Config& cfg, RuleGroups& groups, CompiledPolicy& out, Usage& targets,
         Usage& tables)
      : rules_(cfg.rules), groups_(groups), out_(out), targets_(targets), tables_(tables) {}

  // rules: ascending indexes of the scope's rules, all of `context`.
  // Returns the scope's length set for family f (SLUICE_LENGTH_SET_TABLE
  // for a table), 0 when its rules name nothing of f.
  std::uint32_t build(std::uint32_t scope, std::uint8_t context, Family f,
                      const std::vector<std::uint32_t>& rules);

 private:
  struct Named {
    Prefix prefix;
    std::uint32_t rule;
  };

  bool build_table(std::uint32_t scope, std::uint8_t context, Family f,
                   const std::vector<Named>& named);
  std::vector<MatchEntry> regions(const std::vector<Named>& named);  // in prefix order
  std::uint32_t length_set(const std::vector<std::uint8_t>& lengths);

  const std::vector<config::Rule>& rules_;
  RuleGroups& groups_;
  CompiledPolicy& out_;
  Usage& targets_;
  Usage& tables_;
  std::map<std::vector<std::uint8_t>, std::uint32_t> length_sets_;
  std::array<std::uint32_t, 129> single_length_sets_{};  // by the one length
  // Buffers reused between scopes.
  struct Open {
    Prefix prefix;
    std::vector<std::uint32_t> rules;
    std::uint32_t group = 0;
  };
  std::vector<Open> open_;
  std::vector<Named> named_;
  std::array<std::size_t, SLUICE_TABLE_ENTRIES> run_begin_{};
  std::array<std::vector<std::uint32_t>, SLUICE_TABLE_ENTRIES> own_;
};

std::uint32_t Scopes::build(std::uint32_t scope, std::uint8_t context, Family f,
                            const std::vector<std::uint32_t>& rules) {
  named_.clear();
  for (auto r : rules) {
    const auto& rule = rules_[r];
    if (rule.to.any) named_.push_back({whole_family(f), r});
    for (const auto& p : rule.to.prefixes)
      if (p.family == f) named_.push_back({p, r});
  }
  if (named_.empty()) return 0;
  std::sort(named_.begin(), named_.end(), [](const Named& a, const Named& b) {
    if (a.prefix != b.prefix) return prefix_less(a.prefix, b.prefix);
    return a.rule < b.rule;
  });
  if (build_table(scope, context, f, named_)) return SLUICE_LENGTH_SET_TABLE;
  auto table = build_longest_match(regions(named_));

  targets_.used += table.entries.size();
  for (const auto& n : named_) ++targets_.by_rule[n.rule];
  for (const auto& e : table.entries) {
    TargetEntry t;
    t.key.context = context;
    t.key.family = abi_family(f);
    t.key.prefixlen = e.prefix.length;
    t.key.scope = scope;
    std::memcpy(t.key.addr, e.prefix.addr.data(), 16);
    t.value.code = e.value;
    t.value.single = groups_.item_of(e.value);
    t.value.below = abi_span(e.below);
    out_.targets.push_back(t);
  }
  return length_set(table.lengths);
}

// The scope as a table, when it names few enough prefixes and the rules
// naming each decide in place: whether it did. named: in prefix order.
bool Scopes::build_table(std::uint32_t scope, std::uint8_t context, Family f,
                         const std::vector<Named>& named) {
  std::size_t runs = 0;  // distinct prefixes; run_begin_[i]: the first of each
  for (std::size_t i = 0; i < named.size(); ++i) {
    if (i > 0 && named[i].prefix == named[i - 1].prefix) continue;
    if (runs == SLUICE_TABLE_ENTRIES) return false;
    run_begin_[runs++] = i;
  }
  if (runs == 1) return false;  // one target entry, no markers: as small
  for (std::size_t i = 0; i < runs; ++i) {
    auto& own = own_[i];
    own.clear();
    std::size_t end = i + 1 < runs ? run_begin_[i + 1] : named.size();
    for (auto j = run_begin_[i]; j < end; ++j)
      if (own.empty() || own.back() != named[j].rule) own.push_back(named[j].rule);
    if (!groups_.decides_inline(own)) return false;
  }
  auto& t = out_.tables.emplace_back();
  t.key.context = context;
  t.key.family = abi_family(f);
  t.key.scope = scope;
  for (std::size_t i = 0; i < runs; ++i) {
    auto& e = t.value.entry[t.value.count++];
    const Prefix& p = named[run_begin_[i]].prefix;
    std::memcpy(e.addr, p.addr.data(), 16);
    e.prefixlen = p.length;
    e.code = groups_.code_for(own_[i]);
    e.single = groups_.item_of(e.code);
  }
  ++tables_.used;
  for (const auto& n : named) ++tables_.by_rule[n.rule];
  return true;
}

// The distinct prefixes named, each with the group of rules matching its
// addresses: those naming it or a prefix containing it, in order, up to
// the first that matches all traffic. A prefix with the same group as the
// one containing it needs no entry: the search finds that one.
std::vector<MatchEntry> Scopes::regions(const std::vector<Named>& named) {
  std::vector<MatchEntry> out;
  if (named.size() == 1) {  // the common case, without the walk's buffers
    out.push_back({named[0].prefix, groups_.code_for({named[0].rule}), {}});
    return out;
  }
  // open_[0..depth): the prefixes containing the current one, with their
  // rules; the buffers are kept between calls.
  std::size_t depth = 0;
  std::vector<std::uint32_t> own;
  for (std::size_t begin = 0; begin < named.size();) {
    const Prefix& prefix = named[begin].prefix;
    own.clear();
    std::size_t end = begin;
    for (; end < named.size() && named[end].prefix == prefix; ++end)
      if (own.empty() || own.back() != named[end].rule) own.push_back(named[end].rule);
    begin = end;

    while (depth > 0 && !open_[depth - 1].prefix.contains(prefix)) --depth;
    if (open_.size() <= depth) open_.resize(depth + 1);
    Open& mine = open_[depth];
    mine.prefix = prefix;
    mine.rules.clear();
    if (depth == 0) {
      mine.rules = own;
    } else {
      const auto& outer = open_[depth - 1].rules;
      std::set_union(outer.begin(), outer.end(), own.begin(), own.end(),
                     std::back_inserter(mine.rules));
    }
    auto last = std::find_if(mine.rules.begin(), mine.rules.end(),
                             [&](std::uint32_t r) { return groups_.matches_all_traffic(r); });
    if (last != mine.rules.end()) mine.rules.erase(last + 1, mine.rules.end());
    if (depth > 0 && mine.rules == open_[depth - 1].rules) {
      mine.group = open_[depth - 1].group;
    } else {
      mine.group = groups_.code_for(mine.rules);
      out.push_back({prefix, mine.group, {}});
    }
    ++depth;
  }
  return out;
}

std::uint32_t Scopes::length_set(const std::vector<std::uint8_t>& lengths) {
  if (lengths.size() == 1 && single_length_sets_[lengths[0]])
    return single_length_sets_[lengths[0]];
  auto [it, added] =
      length_sets_.try_emplace(lengths, static_cast<std::uint32_t>(length_sets_.size() + 1));
  if (added) out_.length_sets.push_back({it->second, lengths});
  if (lengths.size() == 1) single_length_sets_[lengths[0]] = it->second;
  return it->second;
}

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

// One context's source side: its scopes (each built for the families whose
// addresses look it up) and the source search entries leading to them.
// Returns the last scope id used.
std::uint32_t compile_context(const config::Config& cfg, std::uint8_t context,
                              const std::vector<std::uint32_t>& rules, std::uint32_t first_id,
                              Scopes& scopes, CompiledPolicy& out) {
  std::vector<std::uint32_t> from_any;
  for (auto i : rules)
    if (cfg.rules[i].from.any) from_any.push_back(i);
  for (Family f : {Family::V4, Family::V6})
    out.any_scope[context][family_slot(f)] = scopes.build(SLUICE_SCOPE_ANY, context, f, from_any);

  SourceScopes sources(cfg.rules, rules, first_id);
  out.tables.reserve(out.tables.size() + sources.scope_count());
  std::vector<std::array<std::uint32_t, 2>> sets(sources.scope_count());
  for (std::uint32_t i = 0; i < sources.scope_count(); ++i) {
    std::uint32_t id = first_id + 1 + i;
    for (Family f : {Family::V4, Family::V6})
      if (sources.scope_families(id) & (1u << family_slot(f)))
        sets[i][family_slot(f)] = scopes.build(id, context, f, sources.scope_rules(id));
  }

  for (Family f : {Family::V4, Family::V6}) {
    auto slot = family_slot(f);
    auto table = build_longest_match(sources.prefixes()[slot]);
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
  RuleGroups groups(cfg.rules);
  Usage targets{"destination entries", limits.targets, 0, std::vector<std::size_t>(n)};
  Usage tables{"destination tables", limits.tables, 0, std::vector<std::size_t>(n)};
  Scopes scopes(cfg, groups, out, targets, tables);
  auto contexts = contexts_of(cfg, limits.contexts, out);
  out.source_lengths.resize(contexts.size());
  out.any_scope.resize(contexts.size());
  std::uint32_t last_scope = SLUICE_SCOPE_ANY;
  for (std::size_t c = 0; c < contexts.size(); ++c)
    last_scope =
        compile_context(cfg, static_cast<std::uint8_t>(c), contexts[c], last_scope, scopes, out);

  Usage source_entries{"source prefix entries", limits.source_entries, out.classes.size(),
                       std::vector<std::size_t>(n)};
  for (std::size_t i = 0; i < n; ++i) source_entries.by_rule[i] = cfg.rules[i].from.prefixes.size();
  check_room(source_entries, cfg.rules);
  check_room(targets, cfg.rules);
  check_room(tables, cfg.rules);
  check_room({"distinct destination length sets", limits.length_sets, out.length_sets.size(), {}},
             cfg.rules);

  groups.emit(out);
  check_room({"rule groups", limits.groups, out.groups.size(), groups.groups_per_rule()},
             cfg.rules);
  check_room(
      {"protocol/port entries", limits.decisions, out.decisions.size(), groups.groups_per_rule()},
      cfg.rules);
  return out;
}

}  // namespace sluice::policy
