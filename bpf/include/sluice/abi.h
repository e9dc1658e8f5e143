/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The one contract between the sluice datapath (BPF, kernel side) and the
 * daemon (C++, user side): map keys and values, verdicts, drop reasons and
 * limits. Included by both sides; nothing here may depend on either.
 *
 * Byte order: addresses and ports inside keys are in network byte order so
 * that LPM prefixes are the leading bits. Everything else is host order.
 *
 * Over the size limit: every structure both sides share lives here and
 * only here, so that a change to one is a change to the one contract.
 */
#ifndef SLUICE_ABI_H
#define SLUICE_ABI_H

#include <linux/types.h>

/* Sizes of the preallocated or bounded maps. */
#define SLUICE_MAX_RULES 131072u /* rules in one ruleset generation */
/* Policy maps, both generations: hash maps allocate entries as used, but
 * their bucket arrays (16 bytes per entry of max_entries) up front. */
#define SLUICE_MAX_CLASS_ENTRIES 1048576u /* source prefixes and search markers */
#define SLUICE_MAX_TARGETS 2097152u	  /* destination prefixes and markers of all scopes */
#define SLUICE_MAX_LENGTH_SETS                                                                     \
	131072u			      /* distinct destination length sets (array, 136 bytes each) */
#define SLUICE_MAX_DECISIONS 2097152u /* decision entries, both generations */
#define SLUICE_MAX_PREFILTER 2097152u /* blocklist prefixes per family */
#define SLUICE_MAX_CONNTRACK 262144u  /* flows and translations (LRU beyond this); sized at load */
#define SLUICE_MAX_LOCAL_ADDRS 4096u  /* addresses owned by this host */
#define SLUICE_MAX_GROUPS 1048576u    /* distinct rule lists, both generations */
#define SLUICE_MAX_DEST_TABLES 524288u /* destination tables of small scopes, both generations */
#define SLUICE_GENERATIONS 2u	       /* live ruleset + the one being built */

/* Bounded parsing: VLAN tags and IPv6 extension headers we walk through. */
#define SLUICE_MAX_VLAN_TAGS 2
#define SLUICE_MAX_IPV6_EXT_HEADERS 6

/* The scope of the rules whose `from` is "any". */
#define SLUICE_SCOPE_ANY 0u

enum sluice_chain {
	SLUICE_CHAIN_INPUT = 0,	  /* to an address of this host */
	SLUICE_CHAIN_FORWARD = 1, /* through this host */
	SLUICE_CHAIN_OUTPUT = 2,  /* from an address of this host */
	SLUICE_CHAIN_COUNT = 3,
};

enum sluice_action {
	SLUICE_ACTION_ACCEPT = 0,
	SLUICE_ACTION_DROP = 1,
	SLUICE_ACTION_REJECT = 2,
	SLUICE_ACTION_COUNT = 3,
};

/*
 * A container sluice-cni wired, by the ifindex of its link's host end
 * (endpoints): what its packets must come from. A packet arriving there
 * with another source MAC, or another source address (IPv6 link-local
 * ones aside), is dropped as SLUICE_DROP_SPOOFED.
 */
#define SLUICE_MAX_ENDPOINTS 65536u
#define SLUICE_ENDPOINT_IPV4 0x01
#define SLUICE_ENDPOINT_IPV6 0x02
struct sluice_endpoint {
	__u8 mac[6];
	__u8 families; /* SLUICE_ENDPOINT_* it has an address of */
	__u8 pad;
	__u8 addr4[4];
	__u8 addr6[16];
};

/*
 * Workload identities (the approach of Cilium's ipcache): the daemon gives
 * every distinct label set of the containers it knows a number, and keeps
 * address -> number in the identities map. Events carry the numbers of
 * their source and destination (0: no workload), so a flow is named by
 * the identity it had when it was decided.
 */
#define SLUICE_MAX_IDENTITY_ADDRESSES 131072u
#define SLUICE_IDENTITY_NONE 0u
struct sluice_identity_key {
	__u8 family; /* enum sluice_family */
	__u8 pad[3];
	__u8 addr[16];
};

/* Why a packet was dropped; indexes the drop_reasons counter array. */
enum sluice_drop_reason {
	SLUICE_DROP_NONE = 0,
	SLUICE_DROP_MALFORMED = 1,	    /* header fields contradict each other */
	SLUICE_DROP_TRUNCATED = 2,	    /* packet ends inside a header */
	SLUICE_DROP_UNSUPPORTED = 3,	    /* too many VLAN tags / IPv6 ext headers */
	SLUICE_DROP_FRAGMENT = 4,	    /* non-first fragment of an untracked flow */
	SLUICE_DROP_PREFILTER = 5,	    /* source in the XDP blocklist */
	SLUICE_DROP_POLICY_RULE = 6,	    /* a rule with action drop or reject */
	SLUICE_DROP_POLICY_DEFAULT = 7,	    /* no rule matched, chain default drop */
	SLUICE_DROP_CT_INVALID = 8,	    /* TCP flags no stack sends (scans) */
	SLUICE_DROP_REJECT_FAILED = 9,	    /* could not build the reject answer */
	SLUICE_DROP_NAT_FAILED = 10,	    /* no free port, the packet could not be rewritten, or
					     * this host's with a live translation's tuple */
	SLUICE_DROP_SPOOFED = 11,	    /* a container's packet with a source not its own */
	SLUICE_DROP_PROXY_UNAVAILABLE = 12, /* an L7 rule's flow with no proxy to take it */
	SLUICE_DROP_REASON_COUNT = 13,
};

/* Address families as stored in keys (not AF_* values: stable ABI). */
enum sluice_family {
	SLUICE_FAMILY_IPV4 = 4,
	SLUICE_FAMILY_IPV6 = 6,
};

/* Active generation and chain defaults; a one-entry array map. Applying a
 * ruleset writes the inactive generation, then flips active_gen here. */
struct sluice_settings {
	__u32 active_gen;
	__u8 chain_default[SLUICE_GENERATIONS][SLUICE_CHAIN_COUNT]; /* enum sluice_action */
	__u8 chain_audit[SLUICE_GENERATIONS][SLUICE_CHAIN_COUNT];   /* 1: default only audited */
	__u8 flow_events;					    /* enum sluice_flow_events */
	/* SLUICE_CONTEXT_* bits: which interface contexts the chain has. */
	__u8 context_kinds[SLUICE_GENERATIONS][SLUICE_CHAIN_COUNT];
	__u8 pad;
};

/* Which decisions become flow events ([flows] events). Drops, rejects and
 * audit verdicts always do. */
enum sluice_flow_events {
	SLUICE_FLOW_EVENTS_ALL = 0,    /* also new flows and translations */
	SLUICE_FLOW_EVENTS_DENIED = 1, /* only what was stopped (or would have been) */
};

/* Packets that audit mode let through, by what would have happened;
 * indexes the audit_counters array. */
enum sluice_audit_reason {
	SLUICE_AUDIT_RULE_DROP = 0,
	SLUICE_AUDIT_RULE_REJECT = 1,
	SLUICE_AUDIT_DEFAULT_DROP = 2,
	SLUICE_AUDIT_REASON_COUNT = 3,
};

/*
 * How policy finds the rules for a new flow (bpf/lib/policy.h, docs/policy.md):
 *
 * 1. Source. Every prefix a rule of a chain names in `from` is in
 *    source_classes, whose value lists the scopes holding the rules that
 *    match its addresses (at most SLUICE_MAX_SOURCE_SCOPES). The longest
 *    match is found by binary search over the source prefix lengths of
 *    that chain and family (struct sluice_prefix_lengths), with markers on
 *    the search path whose value is that of the longest real prefix
 *    containing them (Waldvogel et al.). The first probe is the shortest
 *    length (past /0), and every hit narrows the search to the lengths
 *    present below the entry (struct sluice_search_span): an address in a
 *    sparse region is decided in one or two probes, whatever else the
 *    ruleset names; at most SLUICE_MAX_SEARCH_STEPS.
 * 2. Scopes. A scope holds the rules of some nested `from` prefixes; a
 *    wide prefix with many prefixes inside it gets a scope of its own,
 *    shared by all of them, instead of a copy of its rules in each. Scope
 *    SLUICE_SCOPE_ANY holds the rules from "any" (any_scopes).
 * 3. Destination within a scope. Each scope's `to` prefixes are in
 *    targets, searched the same way over that scope's own prefix lengths
 *    (length_sets); the value is the group of rules for the longest match.
 * 4. Groups and decisions: the rules of a group in order, inline when few,
 *    otherwise as protocol/port prefixes (decisions).
 * The lowest rule index over the scopes wins.
 */
/* The shortest first, then a binary search over at most 128 lengths. */
#define SLUICE_MAX_SEARCH_STEPS 9u

/* Where the search goes after a hit: indexes, in the search's list of
 * lengths, of the shortest and longest real prefix strictly inside the
 * entry's prefix; first > last when there is none (first
 * SLUICE_SPAN_NONE_FIRST, last 0).
 * First in every value the search finds, so one reader serves them all. */
struct sluice_search_span {
	__u8 first;
	__u8 last;
	__u8 pad[2];
};
#define SLUICE_SPAN_NONE_FIRST 0xffu

/*
 * Contexts. The rules of a chain that name no interface form context
 * `chain`; rules naming in_interface and/or out_interface go into contexts
 * (chain, in interface, out interface), numbered from SLUICE_CHAIN_COUNT,
 * an interface by the id rules give it (iface_ids: ifindex -> id). A
 * packet looks up its chain's context and, where the chain has them, the
 * contexts of its interfaces (at most 4 in all). Everything keyed or
 * indexed by context below is per context.
 */
#define SLUICE_MAX_CONTEXTS 64u	 /* per generation */
#define SLUICE_CONTEXT_IN 0x01	 /* (chain, in, any) contexts exist */
#define SLUICE_CONTEXT_OUT 0x02	 /* (chain, any, out) */
#define SLUICE_CONTEXT_BOTH 0x04 /* (chain, in, out) */

struct sluice_context_key {
	__u8 gen;
	__u8 chain;
	__u16 in_iface;	 /* interface id, 0: any */
	__u16 out_iface; /* interface id, 0: any */
	__u16 pad;
};

struct sluice_iface_key {
	__u32 gen;
	__u32 ifindex;
};

struct sluice_class_key {
	__u8 gen;
	__u8 context;
	__u8 family;	/* enum sluice_family */
	__u8 prefixlen; /* 0..32 or 0..128 */
	__u8 addr[16];	/* masked to prefixlen; IPv4 in the first 4 bytes */
};

/* A scope to search, and the key of its destination lengths in
 * length_sets (for the chain and family of the lookup). */
struct sluice_scope_ref {
	__u32 scope;
	__u32 length_set;
};

/* Scopes one source address can have: each is a destination lookup for
 * addresses that deep in nested prefixes, and more of them keep the tails
 * that copy rules down short. */
#define SLUICE_MAX_SOURCE_SCOPES 8u
struct sluice_class_value {
	struct sluice_search_span below;
	__u32 count; /* scopes used; 0: a marker inside no named prefix */
	struct sluice_scope_ref scope[SLUICE_MAX_SOURCE_SCOPES];
};

/* Prefix lengths present in a search, shortest first (array maps: index
 * sluice_source_lengths_index() or sluice_length_set_index()). At most 129
 * (/0 to /128). */
#define SLUICE_MAX_PREFIX_LENGTHS 129u
struct sluice_prefix_lengths {
	__u32 count;
	__u8 len[132];
};

/* Index of source_lengths and any_scopes for a generation, context and family. */
static inline __u32 sluice_source_lengths_index(__u32 gen, __u32 context, __u32 family)
{
	return (gen * SLUICE_MAX_CONTEXTS + context) * 2 + (family == SLUICE_FAMILY_IPV6);
}

#define SLUICE_SOURCE_LENGTH_SLOTS (SLUICE_GENERATIONS * SLUICE_MAX_CONTEXTS * 2)

/* Where length set id (from 1; 0: the scope names nothing here) of a
 * generation is in length_sets. */
static inline __u32 sluice_length_set_index(__u32 gen, __u32 id)
{
	return gen * (SLUICE_MAX_LENGTH_SETS / SLUICE_GENERATIONS) + id;
}

/* A destination prefix (or a marker) of a scope -> its group. */
struct sluice_target_key {
	__u8 gen;
	__u8 context;
	__u8 family;
	__u8 prefixlen;
	__u32 scope;
	__u8 addr[16];
};

/*
 * What a rule says about protocol and port is a prefix over 24 bits:
 * 8 of protocol, then 16 of port (for ICMP: type, then code). "bits" is
 * its length: 0 any protocol, 8 one protocol with any port, 8 + N a port
 * prefix of N bits (port ranges become several prefixes), 16 an ICMP type.
 */
#define SLUICE_MATCH_BITS_MAX 24u
#define SLUICE_MAX_MATCH_SHAPES (SLUICE_MATCH_BITS_MAX + 1)

/* A group: the rules, in order, that match one (scope, destination) region. */
struct sluice_group_key {
	__u8 gen;
	__u8 pad[3];
	__u32 id; /* from 1 */
};

/*
 * Decisions (hash): first-match result for (group, protocol/port prefix).
 * Each value already holds the first match among itself and every shorter
 * prefix of its group that contains it, so the longest present prefix that
 * matches is the answer.
 */
struct sluice_decision_key {
	__u8 gen;
	__u8 bits;  /* 0..SLUICE_MATCH_BITS_MAX, see above */
	__u8 proto; /* 0 when bits == 0 */
	__u8 pad;
	__u32 group;
	__u8 port[2]; /* network byte order, masked to bits - 8 */
	__u8 pad2[2];
};

struct sluice_decision {
	__u32 rule_index; /* position of the rule in the ruleset, all chains */
	__u8 action;	  /* enum sluice_action */
	__u8 flags;	  /* SLUICE_RULE_* */
	__u16 proxy_slot; /* SLUICE_RULE_L7: the proxy listener taking the flow */
};

/* A rule's protocol and port range, kept in its group when the group is
 * small: matches when proto is 0 or the packet's, and the packet's port
 * (ICMP: type << 8 | code) lies in [first, last]. */
struct sluice_inline_match {
	__u8 proto;
	__u8 pad;
	__u16 first; /* host order */
	__u16 last;  /* host order */
	__u16 pad2;
	struct sluice_decision decision;
};

/*
 * What a destination decides, as a *code*: a group id (groups), or for a
 * rule whose protocol/port part is one item, SLUICE_CODE_RULE | the rule's
 * index, with the item carried beside the code (which saves a group, and
 * its lookup, per such rule). 0: nothing.
 */
#define SLUICE_CODE_RULE 0x80000000u

/* A destination prefix (or a marker) of a scope searched by longest match:
 * the code for the rules deciding addresses whose longest match it is. */
struct sluice_target {
	struct sluice_search_span below;
	__u32 code;			   /* 0: a marker inside no prefix of the scope */
	struct sluice_inline_match single; /* when code names a rule */
};

/*
 * A scope with few destination prefixes has them in one table instead of
 * a search: the datapath reads every entry, and each entry whose prefix
 * contains the destination decides by its code, which holds only the rules
 * naming exactly that prefix. A rule copied into many small scopes so
 * costs bytes in their tables, not map entries. A scope reference or
 * any_scopes naming length set SLUICE_LENGTH_SET_TABLE means "the table".
 */
#define SLUICE_TABLE_ENTRIES 16u
#define SLUICE_LENGTH_SET_TABLE 0xffffffffu

struct sluice_dest_table_key {
	__u8 gen;
	__u8 context;
	__u8 family;
	__u8 pad;
	__u32 scope;
};

struct sluice_dest_table_entry {
	__u8 addr[16]; /* masked to prefixlen */
	__u8 prefixlen;
	__u8 pad[3];
	__u32 code;
	struct sluice_inline_match single; /* when code names a rule */
};

struct sluice_dest_table {
	__u32 count;
	struct sluice_dest_table_entry entry[SLUICE_TABLE_ENTRIES];
};

/* Groups with at most this many (rule, protocol, port range) items carry
 * them inline and have no decision entries: one lookup decides the pair. */
#define SLUICE_GROUP_INLINE 16

struct sluice_group {
	__u32 first_rule_index;		    /* lowest rule index with this pair */
	__u8 inline_count;		    /* > 0: decide from inline_rules, in order */
	__u8 shapes;			    /* else: entries used in bits */
	__u8 bits[SLUICE_MAX_MATCH_SHAPES]; /* match lengths present, longest first */
	__u8 pad[1];
	struct sluice_inline_match inline_rules[SLUICE_GROUP_INLINE];
};

#define SLUICE_RULE_LOG 0x01
#define SLUICE_RULE_AUDIT 0x02 /* count the verdict, let the packet through */
#define SLUICE_RULE_L7 0x04    /* accepted flows go through the L7 proxy */

/*
 * The L7 proxy (docs/l7.md): every rule with http/tls_sni has a slot; its
 * IPv4 listener is at that index of the proxy_listeners sockmap, its IPv6
 * one at slot + SLUICE_MAX_PROXY_SLOTS (sluice_proxy_key). A flow
 * such a rule accepts is delivered to that socket (bpf_sk_assign at tc
 * ingress, marked so that routing keeps it on this host); an empty slot
 * drops it (fail closed). Slot 0 is never used.
 */
#define SLUICE_MAX_PROXY_SLOTS 1024u
#define SLUICE_PROXY_MARK 0x51c70000u /* the routing mark of steered packets */
#define SLUICE_PROXY_MARK_MASK 0xffff0000u

static inline __u32 sluice_proxy_key(__u32 slot, __u8 family)
{
	return family == SLUICE_FAMILY_IPV6 ? slot + SLUICE_MAX_PROXY_SLOTS : slot;
}

/* Per-CPU counters of packets and bytes, per rule and per chain default
 * of each generation (indexes below). */
struct sluice_counter {
	__u64 packets;
	__u64 bytes;
};

static inline __u32 sluice_rule_counter_index(__u32 gen, __u32 rule_index)
{
	return gen * SLUICE_MAX_RULES + rule_index;
}

static inline __u32 sluice_default_counter_index(__u32 gen, __u32 chain)
{
	return gen * SLUICE_CHAIN_COUNT + chain;
}

/* Blocklist prefixes dropped at XDP, per family. The value says what the
 * longest matching prefix means: drop, or exempt (a management source
 * inside a blocked prefix: the anti-lockout rule must still see it). */
enum sluice_prefilter_verdict {
	SLUICE_PREFILTER_DROP = 1,
	SLUICE_PREFILTER_EXEMPT = 2,
};

struct sluice_prefilter_key4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct sluice_prefilter_key6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* Addresses of this host: input/output chain selection. IPv4 addresses sit
 * in the first 4 bytes, the rest zero. */
struct sluice_local_key {
	__u8 family; /* enum sluice_family */
	__u8 pad[3];
	__u8 addr[16];
};

/*
 * Conntrack. The key is normalised: endpoint a is the lower of the two
 * (address, port) pairs, so both directions of a flow find one entry. For
 * ICMP echo both ports hold the echo identifier.
 */
struct sluice_ct_key {
	__u8 addr_a[16];
	__u8 addr_b[16];
	__u16 port_a; /* network byte order */
	__u16 port_b; /* network byte order */
	__u8 proto;
	__u8 family;
	__u8 pad[2];
};

enum sluice_ct_state {
	SLUICE_CT_NEW = 0, /* UDP/ICMP: seen one way only */
	SLUICE_CT_SYN_SENT = 1,
	SLUICE_CT_SYN_RECV = 2,
	SLUICE_CT_ESTABLISHED = 3, /* also UDP/ICMP once a reply was seen */
	SLUICE_CT_FIN_WAIT = 4,	   /* one side sent FIN */
	SLUICE_CT_CLOSING = 5,	   /* both sides sent FIN */
	SLUICE_CT_CLOSED = 6,	   /* RST seen */
	SLUICE_CT_STATE_COUNT = 7,
};

/* A TCP flow's fin_seen: a FIN seen from each side (bit 1 << enum
 * sluice_ct_dir); once both were, which side sent the later one, and
 * whether the other side has acknowledged it since (an ACK from it; the
 * sequence number is not checked). Nothing more is expected of a flow
 * that closed so: its masquerade port may go to a new flow at once
 * (SLUICE_NAT_REUSE_ENDED_SECONDS). */
#define SLUICE_CT_FIN_BOTH 0x03
#define SLUICE_CT_FIN_LAST_FROM_REPLY 0x04
#define SLUICE_CT_FIN_LAST_ACKED 0x08

/* Direction of a packet relative to the flow's originator. */
enum sluice_ct_dir {
	SLUICE_DIR_ORIGINAL = 0,
	SLUICE_DIR_REPLY = 1,
};

/*
 * NAT of a tracked flow. The conntrack key is the flow as the inside sees
 * it: after destination NAT, before source NAT (originator A:a talking to
 * B:b). snat_* is what A:a becomes on the way out (masquerade); dnat_* is
 * what the originator actually addressed before it was sent to B:b (port
 * forwarding). A flow can have both (hairpin).
 */
#define SLUICE_NAT_SNAT 0x01
#define SLUICE_NAT_DNAT 0x02
/* tc egress has seen the original direction leave (by out_ifindex) and
 * decided its masquerade: from then on XDP may forward the flow. */
#define SLUICE_NAT_DECIDED 0x04
/*
 * Not a flow but a translation: the way back to one, keyed by a tuple as
 * it arrives from outside (a reply to a masqueraded flow: the server and
 * the masquerade address and port; the original direction of a
 * port-forwarded one: the client and the public address and port), and
 * normalised like every conntrack key. Translations live in the conntrack
 * table itself, so claiming a masquerade port (inserting its translation
 * with BPF_NOEXIST) also proves no connection of the host's own uses that
 * tuple: one map operation. Of the entry only these fields mean anything:
 *   nat             SLUICE_NAT_TRANSLATION
 *   dnat_addr/port  what the packet's destination becomes (the flow's
 *                   inside end)
 *   originator_is_a whether the outside end (the packets' source) is
 *                   endpoint a of the key
 *   created_ns, last_seen_ns  when it was made
 * The owning flow's key is then the outside end with dnat_addr/port (for
 * ICMP echo both ports are dnat_port); a translation whose flow is gone is
 * stale: lookups ignore it and a new flow may take it over.
 */
#define SLUICE_NAT_TRANSLATION 0x08

struct sluice_ct_entry {
	__u64 created_ns; /* bpf_ktime_get_ns() at the first packet */
	__u64 last_seen_ns;
	__u64 packets[2]; /* indexed by enum sluice_ct_dir */
	__u64 bytes[2];
	__u32 rule_index; /* rule that accepted the flow, or ~0 for default */
	__u8 state;	  /* enum sluice_ct_state */
	__u8 originator_is_a;
	__u8 chain;	   /* enum sluice_chain that admitted the flow */
	__u8 fin_seen;	   /* SLUICE_CT_FIN_*: a bit per direction, and the close */
	__u32 in_ifindex;  /* where the first packet came in */
	__u32 out_ifindex; /* where the original direction leaves, once decided */
	__u8 nat;	   /* SLUICE_NAT_* */
	__u8 proxied;	   /* 1: the original direction goes to the L7 proxy */
	__u16 snat_port;   /* network byte order */
	__u16 dnat_port;   /* network byte order */
	__u16 proxy_slot;  /* when proxied */
	__u8 snat_addr[16];
	__u8 dnat_addr[16];
};

#define SLUICE_RULE_INDEX_DEFAULT 0xffffffffu

/* What NAT did, per-CPU counters of packets and bytes. */
enum sluice_nat_counter {
	SLUICE_NAT_NEW_MASQUERADE = 0,	 /* flows given a masquerade translation */
	SLUICE_NAT_NEW_PORT_FORWARD = 1, /* flows sent on by a port forward */
	SLUICE_NAT_NEW_HAIRPIN = 2,	 /* port-forwarded flows from inside, masqueraded too */
	SLUICE_NAT_REWRITTEN = 3,	 /* packets whose addresses/ports were rewritten */
	SLUICE_NAT_ICMP_ERROR = 4,	 /* ICMP errors whose quoted packet was translated */
	SLUICE_NAT_COUNTER_COUNT = 5,
};

#define SLUICE_MAX_NAT_INTERFACES 1024u
#define SLUICE_MAX_MASQUERADE_SOURCES 65536u
#define SLUICE_MAX_PORT_FORWARDS 65536u
/* Masquerade picks ports in this range (host order) unless the flow's own
 * source port is in it and free. It lies below the kernel's default
 * ephemeral range (32768-60999) so that translations and the host's own
 * connections do not compete for the same ports. */
#define SLUICE_NAT_PORT_MIN 1024u
#define SLUICE_NAT_PORT_MAX 32767u
#define SLUICE_NAT_PORT_TRIES 32
/* A masquerade port held by a TCP flow that has ended (FIN both ways, or a
 * RST) goes to a new flow once the old one has been quiet this long: long
 * enough for a retransmitted last FIN or ACK to have passed. Without it a
 * port stays taken for the whole closing timeout (SLUICE_CT_TIMEOUT_TCP_
 * CLOSING), which caps short connections to one server at a few hundred a
 * second. A flow whose later FIN was acknowledged (SLUICE_CT_FIN_LAST_
 * ACKED) hands its port on at once. */
#define SLUICE_NAT_REUSE_ENDED_SECONDS 2u

/* The address a flow leaving an interface is masqueraded to, per family:
 * every managed interface has one (hairpin uses the inside interface's). */
struct sluice_iface_addr_key {
	__u32 ifindex;
	__u8 family; /* enum sluice_family */
	__u8 pad[3];
};

struct sluice_iface_addr {
	__u8 addr[16];
};

/* Sources masqueraded when leaving an interface (LPM trie): prefixlen
 * counts 40 bits of ifindex and family, then the address bits. */
struct sluice_masq_source_key {
	__u32 prefixlen;
	__u32 ifindex; /* always matched in full */
	__u8 family;
	__u8 addr[16];
	__u8 pad[3];
};

#define SLUICE_MASQ_KEY_FIXED_BITS 40u

/* Port forwarding: a destination address (one of the inbound interface's),
 * protocol and port, and where such connections go instead. */
struct sluice_port_forward_key {
	__u8 family;
	__u8 proto;
	__u16 port; /* network byte order */
	__u8 addr[16];
};

struct sluice_port_forward {
	__u8 addr[16];
	__u16 port; /* network byte order */
	__u8 pad[2];
};

/*
 * The XDP forwarding fast path: packets of tracked, forwarded flows sent
 * straight to the egress interface (bpf_fib_lookup + devmap). Counted per
 * enum sluice_fastpath_counter; the "to the kernel" ones are packets of
 * such flows the fast path left to the stack, and why.
 */
enum sluice_fastpath_counter {
	SLUICE_FAST_FORWARDED = 0,
	SLUICE_FAST_KERNEL_NO_NEIGHBOUR = 1, /* next hop not resolved yet */
	SLUICE_FAST_KERNEL_TTL = 2,	     /* TTL/hop limit expires here */
	SLUICE_FAST_KERNEL_MTU = 3,	     /* too big for the way out */
	SLUICE_FAST_KERNEL_ROUTE = 4,	     /* no route, or a different way out than the flow's */
	SLUICE_FAST_KERNEL_OTHER = 5, /* options, state changes, interface without fast path */
	SLUICE_FAST_NEW_FLOW = 6,     /* first packets accepted and forwarded by XDP */
	SLUICE_FAST_COUNTER_COUNT = 7,
};

#define SLUICE_MAX_FAST_INTERFACES 1024u

/*
 * Records the datapath sends to the daemon through the events ring buffer:
 * one per flow decision, so "why was this flow dropped?" has an answer.
 */
enum sluice_event_type {
	SLUICE_EVENT_AUDIT = 1, /* audit mode let a packet through that would have been dropped */
	SLUICE_EVENT_NEW_FLOW = 2, /* first packet of a flow accepted; conntrack created */
	SLUICE_EVENT_DROP = 3,	   /* a packet dropped (reason, and the rule when policy did it) */
	SLUICE_EVENT_REJECT = 4,   /* a packet dropped and answered (reset / unreachable) */
	SLUICE_EVENT_NAT = 5,	   /* a flow's source translation decided (masquerade) */
	SLUICE_EVENT_CLOSED = 6,   /* a tracked flow ended when its tuple came back: a struct
				    * sluice_event_closed (idle flows are the daemon's sweep's) */
};

#define SLUICE_EVENT_RING_BYTES (4u << 20)
/* The datapath wakes the daemon only once this much waits in the ring;
 * the daemon reads it every SLUICE_EVENT_POLL_MS regardless. */
#define SLUICE_EVENT_WAKEUP_BYTES (SLUICE_EVENT_RING_BYTES / 8)
#define SLUICE_EVENT_POLL_MS 100

/* Drop and reject events per source address per second; the rest are
 * counted as SLUICE_EVENT_LOST_RATE_LIMITED. A flood from one source then
 * cannot starve the ring of everyone else's events. */
#define SLUICE_DROP_EVENTS_PER_SOURCE 20u
#define SLUICE_MAX_EVENT_SOURCES 65536u

/* Why an event was not delivered, counted per CPU: none goes missing
 * silently. */
enum sluice_event_loss {
	SLUICE_EVENT_LOST_RING_FULL = 0,    /* the daemon did not keep up */
	SLUICE_EVENT_LOST_RATE_LIMITED = 1, /* over the per-source drop event budget */
	SLUICE_EVENT_LOSS_COUNT = 2,
};

/* The chain of a drop that happened before policy (malformed, prefilter,
 * conntrack, NAT). */
#define SLUICE_EVENT_NO_CHAIN 0xffu

struct sluice_event {
	__u64 ts_ns;	  /* bpf_ktime_get_ns() */
	__u32 rule_index; /* or SLUICE_RULE_INDEX_DEFAULT */
	__u32 ifindex;	  /* where the packet was seen */
	__u8 type;	  /* enum sluice_event_type */
	__u8 family;	  /* enum sluice_family; 0 for packets too broken to parse */
	__u8 proto;
	__u8 chain;	 /* enum sluice_chain, or SLUICE_EVENT_NO_CHAIN */
	__u8 action;	 /* the verdict: taken, or for audit the one not enforced */
	__u8 reason;	 /* enum sluice_drop_reason, for drops and rejects */
	__u8 generation; /* ruleset generation rule_index belongs to */
	__u8 nat;	 /* SLUICE_NAT_SNAT (nat_* = translated source) or
			  * SLUICE_NAT_DNAT (nat_* = the destination the client used).
			  * A NEW_FLOW with SNAT (from the XDP fast path) stands for
			  * the flow and its masquerade: two records, the second
			  * like a NAT event seen on out_ifindex. */
	__u16 sport;	 /* network byte order */
	__u16 dport;	 /* network byte order */
	__u16 nat_port;	 /* network byte order */
	__u8 pad[2];
	__u8 src[16]; /* as the inside sees the flow */
	__u8 dst[16];
	__u8 nat_addr[16];
	__u32 out_ifindex;  /* NEW_FLOW with SNAT: the interface it leaves by */
	__u32 src_identity; /* SLUICE_IDENTITY_NONE, or the source's workload identity */
	__u32 dst_identity;
	__u32 pad2;
};

/* What sluice_count_entries (a syscall program the daemon runs) fills in:
 * what the conntrack table holds, counted in the kernel, so that it does
 * not have to be copied out to be counted. */
struct sluice_table_counts {
	__u64 flows;
	__u64 translations; /* SLUICE_NAT_TRANSLATION entries */
	__u32 table;	    /* in: which table to count (enum sluice_ct_table) */
	__u32 pad;
};

/* The conntrack tables: TCP flows apart from the rest, so that a flood of
 * one kind cannot evict the other. */
enum sluice_ct_table {
	SLUICE_CT_TABLE_TCP = 0,   /* map "conntrack" */
	SLUICE_CT_TABLE_OTHER = 1, /* map "conntrack_other": UDP, ICMP and the rest */
	SLUICE_CT_TABLE_COUNT = 2,
};

/* A SLUICE_EVENT_CLOSED record: the flow's last conntrack entry, as it was
 * when the datapath removed it (a packet of its tuple found it past its
 * timeout, or a SYN found it closed) to start the tuple afresh. */
struct sluice_event_closed {
	struct sluice_event event; /* type, ts_ns; the rest zero */
	struct sluice_ct_key key;
	struct sluice_ct_entry entry;
};

/* Conntrack timeouts in seconds, per state and protocol. */
#define SLUICE_CT_TIMEOUT_TCP_SYN 60u
#define SLUICE_CT_TIMEOUT_TCP_ESTABLISHED 432000u
#define SLUICE_CT_TIMEOUT_TCP_CLOSING 120u
#define SLUICE_CT_TIMEOUT_TCP_CLOSED 10u
#define SLUICE_CT_TIMEOUT_UDP_NEW 30u
#define SLUICE_CT_TIMEOUT_UDP_ESTABLISHED 180u
#define SLUICE_CT_TIMEOUT_ICMP 30u

/* Seconds a tracked flow may idle in state before it has ended: the
 * datapath's rule, and the daemon's when it sweeps ended flows. proto is
 * IPPROTO_* (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6). */
static inline __u32 sluice_ct_timeout_seconds(__u8 proto, __u8 state)
{
	if (proto == 6) {
		switch (state) {
		case SLUICE_CT_ESTABLISHED:
			return SLUICE_CT_TIMEOUT_TCP_ESTABLISHED;
		case SLUICE_CT_FIN_WAIT:
		case SLUICE_CT_CLOSING:
			return SLUICE_CT_TIMEOUT_TCP_CLOSING;
		case SLUICE_CT_CLOSED:
			return SLUICE_CT_TIMEOUT_TCP_CLOSED;
		default:
			return SLUICE_CT_TIMEOUT_TCP_SYN;
		}
	}
	if (proto == 17)
		return state == SLUICE_CT_ESTABLISHED ? SLUICE_CT_TIMEOUT_UDP_ESTABLISHED
						      : SLUICE_CT_TIMEOUT_UDP_NEW;
	if (proto == 1 || proto == 58)
		return SLUICE_CT_TIMEOUT_ICMP;
	return SLUICE_CT_TIMEOUT_UDP_NEW;
}

#endif /* SLUICE_ABI_H */
