// sequence_set.h - IMAP sequence sets (RFC 3501 section 9 sequence-set,
// RFC 5182 "$").
//
// Summary
//   SequenceSet::parse() reads "1:*,5,7:9" (or "$" when allowed) into a
//   list of ranges; "*" is kept symbolic and resolved against the largest
//   number in use when the set is asked (contains(), numbers()).
//   format() writes a set compactly ("1:3,5,7:9"), as COPYUID and ESEARCH
//   want it, merging adjacent and overlapping ranges.
//
// Limits
//   Numbers are 1..4294967295 (0 is refused). A set holds at most
//   kMaxRanges ranges (a longer one is refused rather than eating memory).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailroom::imap {

class SequenceSet {
public:
    // "*" is stored as this value and resolved by the accessors.
    static constexpr std::uint32_t kStar = 0;
    static constexpr std::size_t kMaxRanges = 100000;

    struct Range {
        std::uint32_t lo;  // as written: lo may be greater than hi ("5:3"), or kStar
        std::uint32_t hi;
    };

    SequenceSet() = default;

    // Parses `text`; nullopt when it is not a sequence-set. "$" alone is
    // accepted when `allow_saved` is true and gives a set with saved() set.
    static std::optional<SequenceSet> parse(std::string_view text, bool allow_saved = false);
    // A set of explicit numbers (any order, duplicates allowed).
    static SequenceSet from_numbers(const std::vector<std::uint32_t>& numbers);

    // "$": the set stands for the saved search result (RFC 5182); the
    // caller substitutes it (the ranges are empty).
    bool saved() const { return saved_; }
    bool empty() const { return ranges_.empty() && !saved_; }
    const std::vector<Range>& ranges() const { return ranges_; }

    // Adds one number or one range (kStar allowed).
    void add(std::uint32_t n) { add_range(n, n); }
    void add_range(std::uint32_t lo, std::uint32_t hi);

    // Whether n is in the set, "*" standing for `star` (the largest
    // sequence number or UID in use; with 0, "*" matches nothing unless
    // the mailbox is empty).
    bool contains(std::uint32_t n, std::uint32_t star) const;
    // Every number in the set that is <= star, ascending, without
    // duplicates. `star` bounds the result, so "1:4294967295" on a small
    // mailbox stays small.
    std::vector<std::uint32_t> numbers(std::uint32_t star) const;
    // The ranges with "*" resolved, sorted and merged (lo <= hi).
    std::vector<Range> normalized(std::uint32_t star) const;

    // Compact text: sorted, merged, "a:b" for runs; "*" written as "*"
    // only when a range still holds kStar (normalize first to avoid it).
    std::string format() const;

private:
    std::vector<Range> ranges_;
    bool saved_ = false;
};

// Formats numbers in any order numbers compactly ("1:3,5"), the way COPYUID
// and ESEARCH ALL want them; "" for none.
std::string format_numbers(std::vector<std::uint32_t> numbers);
// Normalized ranges (lo <= hi, no kStar) as "a:b,c".
std::string format_ranges(const std::vector<SequenceSet::Range>& ranges);

}  // namespace mailroom::imap
