#include "store/flow_spans.h"

#include <string_view>
#include <unordered_map>

namespace sluice::store {

namespace {

// The three kinds of key, as prefixes: every address a record shows (both
// ends, and the translated one), its verdict, its rule.
constexpr std::string_view kAddress = "a:";
constexpr std::string_view kVerdict = "v:";
constexpr std::string_view kRule = "r:";

std::string key(std::string_view kind, std::string_view value) {
  std::string k(kind);
  k += value;
  return k;
}

// Open spans of one kind of key, by value (views into the batch's records,
// which outlive the builder).
class SpanBuilder {
 public:
  SpanBuilder(std::string_view kind, std::vector<Span>& out) : kind_(kind), out_(out) {}
  SpanBuilder(const SpanBuilder&) = delete;
  SpanBuilder& operator=(const SpanBuilder&) = delete;

  void add(std::string_view value, std::uint64_t id) {
    auto [it, fresh] = open_.try_emplace(value, Open{id, id});
    if (fresh) return;
    if (id - it->second.last > kSpanGap) {
      close(value, it->second);
      it->second.first = id;
    }
    it->second.last = id;
  }

  // At the batch's end: the spans still open.
  void close_all() {
    for (const auto& [value, span] : open_) close(value, span);
    open_.clear();
  }

 private:
  struct Open {
    std::uint64_t first;
    std::uint64_t last;
  };
  void close(std::string_view value, const Open& span) {
    out_.push_back({key(kind_, value), span.first, span.last});
  }

  std::string_view kind_;
  std::vector<Span>& out_;
  std::unordered_map<std::string_view, Open> open_;
};

}  // namespace

std::optional<std::string> span_key_of(const flows::FlowFilter& f) {
  for (const auto* address : {&f.from, &f.to, &f.address})
    if (*address) return key(kAddress, **address);
  if (f.rule) return key(kRule, *f.rule);
  if (f.verdict) return key(kVerdict, flows::to_string(*f.verdict));
  return std::nullopt;
}

std::vector<Span> spans_of(std::span<const flows::FlowRecord> batch) {
  std::vector<Span> out;
  SpanBuilder addresses(kAddress, out), verdicts(kVerdict, out), rules(kRule, out);
  for (const auto& r : batch) {
    addresses.add(r.src, r.id);  // a second add of one id changes nothing
    addresses.add(r.dst, r.id);
    if (!r.nat.empty()) addresses.add(r.nat_addr, r.id);
    verdicts.add(flows::to_string(r.verdict), r.id);
    rules.add(r.rule, r.id);
  }
  for (auto* builder : {&addresses, &verdicts, &rules}) builder->close_all();
  return out;
}

}  // namespace sluice::store
