// agent_headers.h - the headers a delivery agent prepends, and the
// Delivered-To loop check.
//
// Summary
//   delivery_prefix() builds the lines written before the queued message:
//   an optional mbox "From " line, Return-Path:, X-Original-To: and
//   Delivered-To:, in Postfix's order, each selected by a flag (pipe's
//   F, R, O and D flags; local and virtual always add the last three).
//   delivered_to_loop() tells whether the message's primary header already
//   holds "Delivered-To: <address>" (case-insensitive), which Postfix
//   reports as "mail forwarding loop for <address>" (5.4.6).
//
// Description
//   Pure functions over strings. Lines end in "\n"; callers that need
//   another line end (pipe's eol=) convert the whole copy.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

namespace mailroom::agent {

struct PrefixFlags {
    bool from_line = false;      // F: "From sender date"
    bool return_path = false;    // R
    bool original_to = false;    // O
    bool delivered_to = false;   // D
};

// `sender` "" is the null sender (Return-Path: <>, From MAILER-DAEMON).
// `original` "" falls back to `recipient`.
std::string delivery_prefix(std::string_view sender, std::string_view original, std::string_view recipient,
                            const PrefixFlags& flags, time_t when);

// True when the primary header block of `message_head` (the message's
// first bytes, up to at least its first empty line) contains a
// Delivered-To: header whose value equals `address` ignoring case and
// surrounding white space. Folded headers are unfolded first.
bool delivered_to_loop(std::string_view message_head, std::string_view address);

}  // namespace mailroom::agent
