// sort_thread.h - SORT and THREAD (RFC 5256, RFC 5957 DISPLAYFROM/DISPLAYTO).
//
// Summary
//   base_subject() extracts the base subject exactly as RFC 5256 section
//   2.1 says (encoded words decoded to UTF-8, white space runs made one
//   space, trailing "(fwd)" and "re:"/"fw:"/"fwd:" with [blob]s removed,
//   leading [blob]s dropped when something remains, "[fwd: ...]" unwrapped,
//   repeated until nothing changes) and reports whether it saw reply or
//   forward markers (ORDEREDSUBJECT needs that).
//
//   sort_keys_of() reads the header once into SortKeys, which a caller
//   may cache: the keys the criteria and the threading compare.
//   parse_sort_criteria() reads the parenthesised criteria list.
//   sort_messages() orders messages by the criteria, ties broken by
//   sequence number (RFC 5256 section 3).
//
//   thread_messages() runs ORDEREDSUBJECT or REFERENCES (RFC 5256 section
//   2.2 and 3) and returns the THREAD response body, e.g.
//   "(2)(3 6 (4 23)(44 7 96))"; numbers are sequence numbers or, with
//   use_uid, UIDs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/imap/search.h"

namespace mailroom::imap {

// Base subject (UTF-8, case-folded as compared) and whether the subject
// was a reply or forward.
struct BaseSubject {
    std::string subject;
    bool is_reply_or_fwd = false;
};
BaseSubject base_subject(std::string_view raw_subject);

struct SortKeys {
    std::int64_t sent_date = 0;  // Date: header in UTC, or the internal date when missing/invalid
    // The first address's local part, folded; a list that starts with a
    // group gives the group name (as Dovecot sorts).
    std::string from;
    std::string to;              // first To mailbox, folded
    std::string cc;              // first Cc mailbox, folded
    std::string display_from;    // RFC 5957: decoded display name, else addr-spec, folded
    std::string display_to;
    BaseSubject subject;
    std::string message_id;      // "<...>" of Message-ID, "" when none or invalid
    std::vector<std::string> references;  // message ids of References, in order
    std::string in_reply_to;     // first message id of In-Reply-To
};
// From a message (or just its header) and its metadata (for the date fallback).
SortKeys sort_keys_of(std::string_view message, const MessageMeta& meta);

enum class SortKey { kArrival, kCc, kDate, kFrom, kSize, kSubject, kTo, kDisplayFrom, kDisplayTo };
struct SortCriterion {
    SortKey key = SortKey::kArrival;
    bool reverse = false;
};
// The criteria list "(REVERSE DATE SUBJECT)" as one kList argument;
// nullopt for an unknown key, an empty list or a dangling REVERSE.
std::optional<std::vector<SortCriterion>> parse_sort_criteria(const SearchArg& list);

struct SortItem {
    MessageMeta meta;
    SortKeys keys;
};
// Indexes of `items` in sorted order.
std::vector<std::size_t> sort_messages(const std::vector<SortCriterion>& criteria,
                                       const std::vector<SortItem>& items);

enum class ThreadAlgorithm { kOrderedSubject, kReferences };
// "ORDEREDSUBJECT" / "REFERENCES" (any case); nullopt otherwise.
std::optional<ThreadAlgorithm> parse_thread_algorithm(std::string_view name);
// The THREAD response body (without "* THREAD "); "" for no messages.
std::string thread_messages(ThreadAlgorithm algorithm, const std::vector<SortItem>& items, bool use_uid);

}  // namespace mailroom::imap
