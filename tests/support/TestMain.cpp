// Runs the registered CppUnit suites: all of them, or those named on the
// command line (ctest runs each suite as its own test, in parallel).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/Test.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

int main(int argc, char** argv) {
    CppUnit::TestResult controller;
    CppUnit::TestResultCollector result;
    controller.addListener(&result);
    CppUnit::BriefTestProgressListener progress;
    controller.addListener(&progress);

    // Ownership: the tree of every suite is ours; the suites chosen are its children.
    const std::unique_ptr<CppUnit::Test> all(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    std::vector<CppUnit::Test*> chosen;
    if (argc < 2) {
        chosen.push_back(all.get());
    } else {
        // A suite is named by its class, with or without its namespaces.
        for (int i = 1; i < argc; ++i) {
            const std::string wanted = argv[i];
            CppUnit::Test* found = nullptr;
            for (int child = 0; child < all->getChildTestCount() && !found; ++child) {
                auto* suite = all->getChildTestAt(child);
                const auto name = suite->getName();
                if (name == wanted || (name.size() > wanted.size() && name.ends_with("::" + wanted))) found = suite;
            }
            if (!found) {
                std::cerr << "no such test suite: " << wanted << "\n";
                return 2;
            }
            chosen.push_back(found);
        }
    }
    for (auto* test : chosen) controller.runTest(test);
    CppUnit::CompilerOutputter(&result, std::cerr).write();
    const auto failed = result.testFailuresTotal();
    std::cout << (result.runTests() - failed) << " passed, " << failed << " failed" << std::endl;
    return result.wasSuccessful() && result.runTests() > 0 ? 0 : 1;
}
