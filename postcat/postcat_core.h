// postcat_core.h - print a queue file for people.
//
// Summary
//   postcat_file() writes a queue file in Postfix's postcat layout:
//     *** ENVELOPE RECORDS active/D786582E95 ***
//     message_size: ... / message_arrival_time: ... / sender: ... /
//     recipient: ... (done_recipient: for delivered ones)
//     *** MESSAGE CONTENTS active/D786582E95 ***
//     the header and body lines
//     *** HEADER EXTRACTED active/D786582E95 ***
//     *** MESSAGE FILE END active/D786582E95 ***
//   PostcatParts selects envelope (-e), header (-h) and body (-b); none
//   selected means all. find_queue_file() looks for a queue ID in every
//   queue (postcat -q).
#pragma once

#include <cstdio>
#include <string>

#include "lib/queue/queue_dirs.h"
#include "lib/util/result.h"

namespace mailroom::postcat {

struct PostcatParts {
    bool envelope = false;
    bool header = false;
    bool body = false;
    bool any() const { return envelope || header || body; }
};

// "queue/ID" path of a message, or an error when no queue holds it.
Result<std::string> find_queue_file(const queue::QueueLayout& layout, const std::string& id, std::string* label);

// Writes the file to `out`; `label` names it in the banners.
Status postcat_file(const std::string& path, const std::string& label, PostcatParts parts, std::FILE* out);

}  // namespace mailroom::postcat
