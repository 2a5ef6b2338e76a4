// postmap_main.cc - the postmap command; all of it lives in postmap_core.cc.
#include "postmap/postmap_core.h"

int main(int argc, char** argv) { return mailroom::postmap::run(mailroom::postmap::Flavor::kPostmap, argc, argv); }
