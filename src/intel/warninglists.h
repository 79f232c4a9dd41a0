// MISP warninglists: values that must never be reported (bogons, documentation ranges, known
// research scanners, crawlers...). Loads every list file of a folder in the misp-warninglists
// format ({name, version, description, type, matching_attributes, list}); types cidr, string,
// substring, hostname and regex. MISP itself only flags warninglisted values, so drosera filters
// before anything leaves. Built once, then read-only and thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace drosera::intel {

struct WarninglistLimits {
  size_t max_files = 1000;                // list files per folder
  uint64_t max_file_bytes = 64ull << 20;  // one file (the largest upstream lists are ~20 MB)
  size_t max_entries = 5000000;           // all lists together
  size_t max_regex_input = 1024;          // regex lists are not applied to longer values
};

class Warninglists {
 public:
  Warninglists();
  ~Warninglists();
  Warninglists(Warninglists&&) noexcept;
  Warninglists& operator=(Warninglists&&) noexcept;
  // Copies share the loaded lists, which never change once added.
  Warninglists(const Warninglists&);
  Warninglists& operator=(const Warninglists&);

  // Loads every *.json file of `dir` but schema.json, and <sub>/list.json of its sub-folders
  // (the layout of the misp-warninglists repository's lists/). A file that is not a warninglist, or
  // breaks a limit, is an error naming the file. Entries of a cidr list that are not IPs or
  // CIDRs are skipped (counted in skippedEntries()).
  core::Status loadDirectory(const std::string& dir, const WarninglistLimits& limits = {});
  // Adds one list. `matching_attributes` empty: the list applies to every type. With `strict`,
  // an invalid entry is an error (for lists from the configuration).
  core::Status addList(const std::string& name, std::string_view type,
                       const std::vector<std::string>& matching_attributes,
                       const std::vector<std::string>& entries, bool strict);

  // The name of a list holding `value` as an attribute of MISP type `type` (ip-src, ip-dst,
  // url, hostname, domain...), or nullopt. For a url the host is checked too (a hostname list,
  // or the cidr lists for ip-dst when the host is an address).
  std::optional<std::string> match(std::string_view type, std::string_view value) const;

  size_t lists() const;
  size_t entries() const { return entries_; }
  size_t skippedEntries() const { return skipped_; }

 private:
  struct List;
  std::optional<std::string> matchOne(std::string_view type, std::string_view value) const;
  std::vector<std::shared_ptr<const List>> lists_;
  size_t entries_ = 0;
  size_t skipped_ = 0;
  WarninglistLimits limits_;
};

// Whether `ip` (IPv4 or IPv6 text) is an address no attacker on the Internet sends from or serves
// a payload at: unspecified, loopback, private (RFC 1918, IPv6 unique local), shared (CGNAT),
// link-local, multicast, documentation, benchmarking, reserved, and IPv6 outside global
// unicast 2000::/3. IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 addresses are judged by the IPv4
// address they carry. Built in, so that it holds whatever warninglists are loaded (the shipped
// ones cover these ranges for IPv4, but of IPv6 only link-local and documentation). False for
// text that is not an address.
bool isNonGlobalAddress(std::string_view ip);

// The host of an absolute URL ("http://user@Host:8080/x" -> "host", "http://[2001:db8::1]/" ->
// "2001:db8::1"), lower-cased; empty when there is none.
std::string urlHost(std::string_view url);

}  // namespace drosera::intel
