// milter_packet_fuzz.h - fuzz target for the milter reply decoder.
//
// Summary
//   fuzz_milter_packets() reads bytes as a milter's side of the
//   conversation: PacketReader cuts them into packets, whole and byte by
//   byte (both must give the same packets and the same verdict), and each
//   packet goes through parse_reply() (parse_optneg() for an 'O' packet).
//   Input is valid when it is whole packets that all parse. The replay
//   test in tests/lib/milter runs it over tests/fuzz/milter_packet_corpus;
//   built with -DMAILROOM_LIBFUZZER it is also a libFuzzer entry point.
//
// Fuzzing (from the source root; the clang++ command is one line):
//   clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -DMAILROOM_LIBFUZZER
//     -I. -Itests/fuzz tests/fuzz/milter_packet_fuzz.cc lib/milter/milter_codec.cc -o milter_packet_fuzz
//   ./milter_packet_fuzz -max_len=4096 CORPUS_COPY tests/fuzz/milter_packet_corpus
#pragma once

#include "queue_record_fuzz.h"

namespace mailroom::fuzz {

FuzzVerdict fuzz_milter_packets(std::string_view bytes);

}  // namespace mailroom::fuzz
