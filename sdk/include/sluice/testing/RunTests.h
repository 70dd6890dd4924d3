#pragma once
// main() for a plugin's CppUnit tests: runs every registered suite, prints
// failures as compiler-style lines, and returns 0 only when all passed.
//
//   int main(int argc, char** argv) { return sluice::testing::runTests(argc, argv); }
//
// With an argument naming a suite, only that suite runs. Needs CppUnit
// (Debian: libcppunit-dev); sluice_add_plugin_test() links it.
// Part of the SDK's test helpers (Sluice::testing).

#include <iostream>
#include <string>

#include <cppunit/CompilerOutputter.h>
#include <cppunit/extensions/TestFactoryRegistry.h>
#include <cppunit/ui/text/TestRunner.h>

namespace sluice::testing {

inline int runTests(int argc, char** argv) {
    CppUnit::TextUi::TestRunner runner;
    runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    runner.setOutputter(new CppUnit::CompilerOutputter(&runner.result(), std::cerr));
    const std::string only = argc > 1 ? argv[1] : "";
    return runner.run(only) ? 0 : 1;
}

} // namespace sluice::testing
