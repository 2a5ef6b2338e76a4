// thread.cc - THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256), declared in sort_thread.h.
#include <algorithm>
#include <unordered_map>

#include "lib/imap/sort_thread.h"

namespace mailroom::imap {

namespace {

constexpr int kNone = -1;
constexpr int kMaxThreadDepth = 1000;

struct Node {
    int msg = kNone;  // index into items; kNone for a dummy
    int parent = kNone;
    std::vector<int> children;
};

class Threader {
public:
    explicit Threader(const std::vector<SortItem>& items, bool use_uid) : items_(items), use_uid_(use_uid) {}

    std::string references();
    std::string ordered_subject();

private:
    int new_node(int msg) {
        nodes_.push_back(Node{msg, kNone, {}});
        return static_cast<int>(nodes_.size()) - 1;
    }
    int node_for(const std::string& id) {
        auto it = ids_.find(id);
        if (it != ids_.end()) return it->second;
        int n = new_node(kNone);
        ids_.emplace(id, n);
        return n;
    }
    bool is_ancestor(int a, int n) const {  // a is n or above n
        for (int guard = 0; n != kNone && guard <= static_cast<int>(nodes_.size()); ++guard) {
            if (n == a) return true;
            n = nodes_[n].parent;
        }
        return false;
    }
    void unlink(int child) {
        int p = nodes_[child].parent;
        if (p == kNone) return;
        auto& c = nodes_[p].children;
        c.erase(std::remove(c.begin(), c.end(), child), c.end());
        nodes_[child].parent = kNone;
    }
    void link(int parent, int child) {
        nodes_[child].parent = parent;
        nodes_[parent].children.push_back(child);
    }
    // The message a node sorts and is named by: its own, or its first child's.
    int sort_msg(int n) const {
        for (int guard = 0; nodes_[n].msg == kNone && !nodes_[n].children.empty() && guard < 1000; ++guard)
            n = nodes_[n].children[0];
        return nodes_[n].msg;
    }
    bool earlier(int a, int b) const {
        int ma = sort_msg(a);
        int mb = sort_msg(b);
        if (ma == kNone || mb == kNone) return ma != kNone && mb == kNone;
        const SortItem& x = items_[static_cast<std::size_t>(ma)];
        const SortItem& y = items_[static_cast<std::size_t>(mb)];
        if (x.keys.sent_date != y.keys.sent_date) return x.keys.sent_date < y.keys.sent_date;
        return x.meta.seq < y.meta.seq;
    }
    void sort_tree(std::vector<int>* level) {
        for (int n : *level) sort_tree(&nodes_[n].children);
        std::stable_sort(level->begin(), level->end(), [this](int a, int b) { return earlier(a, b); });
    }
    std::vector<int> prune(const std::vector<int>& level, bool root_level);
    void write_chain(std::string* out, int n) const;
    std::string write_threads(const std::vector<int>& roots) const {
        std::string out;
        for (int r : roots) {
            out += '(';
            write_chain(&out, r);
            out += ')';
        }
        return out;
    }
    std::string number(int msg) const {
        const MessageMeta& m = items_[static_cast<std::size_t>(msg)].meta;
        return std::to_string(use_uid_ ? m.uid : m.seq);
    }

    const std::vector<SortItem>& items_;
    bool use_uid_;
    std::vector<Node> nodes_;
    std::unordered_map<std::string, int> ids_;
};

std::vector<int> Threader::prune(const std::vector<int>& level, bool root_level) {
    std::vector<int> out;
    for (int n : level) {
        nodes_[n].children = prune(nodes_[n].children, false);
        if (nodes_[n].msg != kNone) {
            out.push_back(n);
            continue;
        }
        const std::vector<int> kids = nodes_[n].children;
        if (kids.empty()) continue;  // a dummy without children goes
        if (root_level && kids.size() > 1) {
            out.push_back(n);  // kept: its children would all become roots
            continue;
        }
        int parent = nodes_[n].parent;
        for (int k : kids) {
            nodes_[k].parent = parent;
            out.push_back(k);
        }
        nodes_[n].children.clear();
    }
    return out;
}

// "n", "n m ...", "n (a ...)(b ...)"; a dummy writes only its children.
void Threader::write_chain(std::string* out, int n) const {
    for (int guard = 0; guard < 1000000; ++guard) {
        const Node& node = nodes_[n];
        if (node.msg != kNone) {
            if (!out->empty() && out->back() != '(') *out += ' ';
            *out += number(node.msg);
        }
        if (node.children.empty()) return;
        if (node.children.size() == 1 && node.msg != kNone) {
            n = node.children[0];
            continue;
        }
        if (node.msg != kNone) *out += ' ';
        for (int c : node.children) {
            *out += '(';
            write_chain(out, c);
            *out += ')';
        }
        return;
    }
}

std::string Threader::references() {
    // (1) Link messages by Message-ID, References and In-Reply-To.
    for (std::size_t i = 0; i < items_.size(); ++i) {
        const SortKeys& k = items_[i].keys;
        int self;
        auto it = k.message_id.empty() ? ids_.end() : ids_.find(k.message_id);
        if (k.message_id.empty() || (it != ids_.end() && nodes_[it->second].msg != kNone)) {
            self = new_node(static_cast<int>(i));  // none or a duplicate: a unique id
        } else {
            self = node_for(k.message_id);
            nodes_[self].msg = static_cast<int>(i);
        }
        std::vector<std::string> refs = k.references;
        if (refs.empty() && !k.in_reply_to.empty()) refs.push_back(k.in_reply_to);
        int prev = kNone;
        for (const std::string& r : refs) {
            int cur = node_for(r);
            if (prev != kNone && nodes_[cur].parent == kNone && !is_ancestor(cur, prev)) link(prev, cur);
            prev = cur;
        }
        unlink(self);
        if (prev != kNone && !is_ancestor(self, prev)) link(prev, self);
    }
    // Bound the depth the recursive steps below walk: a thread deeper than
    // kMaxThreadDepth (only a crafted References chain gets there) is cut
    // into threads of its own there.
    std::vector<int> level;
    for (std::size_t n = 0; n < nodes_.size(); ++n)
        if (nodes_[n].parent == kNone) level.push_back(static_cast<int>(n));
    for (int depth = 1; !level.empty(); ++depth) {
        std::vector<int> next;
        for (int n : level)
            for (int c : nodes_[n].children) next.push_back(c);
        if (depth == kMaxThreadDepth)
            for (int c : next) unlink(c);
        level = depth == kMaxThreadDepth ? std::vector<int>() : std::move(next);
    }
    // (2) The root set, (3) without dummies.
    std::vector<int> roots;
    for (std::size_t n = 0; n < nodes_.size(); ++n)
        if (nodes_[n].parent == kNone) roots.push_back(static_cast<int>(n));
    roots = prune(roots, true);
    // (4) Sorted by sent date.
    sort_tree(&roots);
    // (5) Threads with the same base subject gathered.
    auto subject_of = [this](int n) -> const BaseSubject* {
        int m = sort_msg(n);
        return m == kNone ? nullptr : &items_[static_cast<std::size_t>(m)].keys.subject;
    };
    auto is_reply = [this](int n) {
        return nodes_[n].msg != kNone && items_[static_cast<std::size_t>(nodes_[n].msg)].keys.subject.is_reply_or_fwd;
    };
    std::unordered_map<std::string, int> table;
    for (int r : roots) {
        const BaseSubject* s = subject_of(r);
        if (!s || s->subject.empty()) continue;
        auto it = table.find(s->subject);
        if (it == table.end()) {
            table.emplace(s->subject, r);
            continue;
        }
        int t = it->second;
        bool r_dummy = nodes_[r].msg == kNone;
        bool t_dummy = nodes_[t].msg == kNone;
        if ((r_dummy && !t_dummy) || (!t_dummy && !r_dummy && is_reply(t) && !is_reply(r))) it->second = r;
    }
    std::vector<int> merged;
    std::vector<int> absorbed;  // roots already placed under a new dummy
    for (int r : roots) {
        if (std::find(absorbed.begin(), absorbed.end(), r) != absorbed.end()) continue;
        const BaseSubject* s = subject_of(r);
        if (!s || s->subject.empty()) {
            merged.push_back(r);
            continue;
        }
        int& t = table[s->subject];
        if (t == r) {
            merged.push_back(r);
            continue;
        }
        bool r_dummy = nodes_[r].msg == kNone;
        bool t_dummy = nodes_[t].msg == kNone;
        if (r_dummy && t_dummy) {
            for (int c : std::vector<int>(nodes_[r].children)) {
                unlink(c);
                link(t, c);
            }
        } else if (t_dummy) {
            link(t, r);
        } else if (!is_reply(t) && is_reply(r)) {
            link(t, r);
        } else {
            // Neither is a reply of the other: siblings under a new dummy.
            int d = new_node(kNone);
            auto pos = std::find(merged.begin(), merged.end(), t);
            if (pos != merged.end()) *pos = d;
            else merged.push_back(d), absorbed.push_back(t);
            link(d, t);
            link(d, r);
            t = d;
        }
    }
    // (6) Everything sorted by sent date, and written.
    sort_tree(&merged);
    return write_threads(merged);
}

std::string Threader::ordered_subject() {
    std::vector<std::size_t> order(items_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
        const SortItem& x = items_[a];
        const SortItem& y = items_[b];
        if (x.keys.subject.subject != y.keys.subject.subject) return x.keys.subject.subject < y.keys.subject.subject;
        if (x.keys.sent_date != y.keys.sent_date) return x.keys.sent_date < y.keys.sent_date;
        return x.meta.seq < y.meta.seq;
    });
    // Each run of one subject is a thread: the first message the parent of the rest.
    std::vector<int> roots;
    for (std::size_t i = 0; i < order.size(); ++i) {
        int n = new_node(static_cast<int>(order[i]));
        if (i > 0 && items_[order[i]].keys.subject.subject == items_[order[i - 1]].keys.subject.subject) {
            link(roots.back(), n);
        } else {
            roots.push_back(n);
        }
    }
    std::stable_sort(roots.begin(), roots.end(), [this](int a, int b) { return earlier(a, b); });
    return write_threads(roots);
}

}  // namespace

std::string thread_messages(ThreadAlgorithm algorithm, const std::vector<SortItem>& items, bool use_uid) {
    Threader t(items, use_uid);
    return algorithm == ThreadAlgorithm::kReferences ? t.references() : t.ordered_subject();
}

}  // namespace mailroom::imap
