// agent_text_fuzz.h - fuzz target for the delivery agents' text parsers.
//
// Summary
//   fuzz_agent_text() runs bytes through the pure parsers of local, pipe
//   and lib/agent and checks invariants that must hold for every input:
//     - LineTransformer (pipe's '.', '>', B and eol=) gives the same output
//       whether the input comes whole or byte by byte, ends every output
//       line with the eol, and emits as many lines as the input has (one
//       more with B);
//     - delivered_to_loop() answers the same for LF and CRLF line ends;
//     - parse_alias_list() yields only non-empty, trimmed elements;
//     - expand_pipe_argv() leaves elements without '$' untouched, one
//       output element per input element for a single recipient;
//     - split_extension() gives back the local part: user + delimiter +
//       extension.
//   The replay test in tests/local runs it over tests/fuzz/agent_text_corpus;
//   built with -DMAILROOM_LIBFUZZER it is also a libFuzzer entry point.
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_agent_text(std::string_view bytes);

}  // namespace mailroom::fuzz
