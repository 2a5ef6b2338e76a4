// sequence_set.cc - see sequence_set.h.
#include "lib/imap/sequence_set.h"

#include <algorithm>

namespace mailroom::imap {

namespace {

// One seq-number: nz-number or "*". Sets *n (kStar for "*").
bool parse_number(std::string_view s, std::uint32_t* n) {
    if (s == "*") {
        *n = SequenceSet::kStar;
        return true;
    }
    if (s.empty() || s.size() > 10 || s[0] == '0') return false;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return false;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (v == 0 || v > 0xffffffffu) return false;
    *n = static_cast<std::uint32_t>(v);
    return true;
}

std::uint32_t resolve(std::uint32_t n, std::uint32_t star) { return n == SequenceSet::kStar ? star : n; }

}  // namespace

std::optional<SequenceSet> SequenceSet::parse(std::string_view text, bool allow_saved) {
    SequenceSet set;
    if (text == "$") {
        if (!allow_saved) return std::nullopt;
        set.saved_ = true;
        return set;
    }
    if (text.empty()) return std::nullopt;
    std::size_t pos = 0;
    while (pos <= text.size()) {
        std::size_t comma = text.find(',', pos);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view item = text.substr(pos, comma - pos);
        std::size_t colon = item.find(':');
        std::uint32_t lo = 0;
        std::uint32_t hi = 0;
        if (colon == std::string_view::npos) {
            if (!parse_number(item, &lo)) return std::nullopt;
            hi = lo;
        } else if (!parse_number(item.substr(0, colon), &lo) || !parse_number(item.substr(colon + 1), &hi)) {
            return std::nullopt;
        }
        if (set.ranges_.size() >= kMaxRanges) return std::nullopt;
        set.ranges_.push_back({lo, hi});
        if (comma == text.size()) break;
        pos = comma + 1;
    }
    return set;
}

SequenceSet SequenceSet::from_numbers(const std::vector<std::uint32_t>& numbers) {
    SequenceSet set;
    for (std::uint32_t n : numbers) set.add(n);
    return set;
}

void SequenceSet::add_range(std::uint32_t lo, std::uint32_t hi) {
    if (!ranges_.empty()) {
        Range& last = ranges_.back();
        // Extend a run of ascending additions instead of growing the list.
        if (lo == hi && last.lo != kStar && last.hi != kStar && last.lo <= last.hi && lo != kStar &&
            last.hi != 0xffffffffu && lo == last.hi + 1) {
            last.hi = lo;
            return;
        }
    }
    ranges_.push_back({lo, hi});
}

bool SequenceSet::contains(std::uint32_t n, std::uint32_t star) const {
    for (const Range& r : ranges_) {
        std::uint32_t a = resolve(r.lo, star);
        std::uint32_t b = resolve(r.hi, star);
        if (a > b) std::swap(a, b);
        if (a == 0 && b == 0) continue;  // "*" in an empty mailbox
        if (n >= a && n <= b) return true;
    }
    return false;
}

std::vector<SequenceSet::Range> SequenceSet::normalized(std::uint32_t star) const {
    std::vector<Range> out;
    for (const Range& r : ranges_) {
        std::uint32_t a = resolve(r.lo, star);
        std::uint32_t b = resolve(r.hi, star);
        if (a > b) std::swap(a, b);
        if (a == 0) a = 1;
        if (b == 0) continue;
        out.push_back({a, b});
    }
    std::sort(out.begin(), out.end(), [](const Range& x, const Range& y) { return x.lo < y.lo; });
    std::vector<Range> merged;
    for (const Range& r : out) {
        if (!merged.empty() && (merged.back().hi == 0xffffffffu || r.lo <= merged.back().hi + 1)) {
            merged.back().hi = std::max(merged.back().hi, r.hi);
        } else {
            merged.push_back(r);
        }
    }
    return merged;
}

std::vector<std::uint32_t> SequenceSet::numbers(std::uint32_t star) const {
    std::vector<std::uint32_t> out;
    for (const Range& r : normalized(star)) {
        std::uint32_t hi = std::min(r.hi, star);
        for (std::uint64_t n = r.lo; n <= hi; ++n) out.push_back(static_cast<std::uint32_t>(n));
    }
    return out;
}

std::string SequenceSet::format() const {
    if (saved_) return "$";
    bool has_star = false;
    for (const Range& r : ranges_) has_star |= r.lo == kStar || r.hi == kStar;
    if (!has_star) return format_ranges(normalized(0xffffffffu));
    std::string out;
    for (const Range& r : ranges_) {
        if (!out.empty()) out += ',';
        out += r.lo == kStar ? "*" : std::to_string(r.lo);
        if (r.lo != r.hi) out += ':' + (r.hi == kStar ? std::string("*") : std::to_string(r.hi));
    }
    return out;
}

std::string format_ranges(const std::vector<SequenceSet::Range>& ranges) {
    std::string out;
    for (const auto& r : ranges) {
        if (!out.empty()) out += ',';
        out += std::to_string(r.lo);
        if (r.hi != r.lo) out += ':' + std::to_string(r.hi);
    }
    return out;
}

std::string format_numbers(std::vector<std::uint32_t> numbers) {
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    std::vector<SequenceSet::Range> ranges;
    for (std::uint32_t n : numbers) {
        if (n == 0) continue;
        if (!ranges.empty() && ranges.back().hi + 1 == n) ranges.back().hi = n;
        else ranges.push_back({n, n});
    }
    return format_ranges(ranges);
}

}  // namespace mailroom::imap
