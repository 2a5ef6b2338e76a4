// main.cc - postconf: show and edit the mailroom configuration.
#include <iostream>

#include "postconf/postconf.h"

int main(int argc, char** argv) { return mailroom::postconf::run_postconf(argc, argv, std::cout); }
