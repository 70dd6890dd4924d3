// sluiced's entry point. With --daemon, Poco forks before the properties
// file is read and the launching process exits 0 at once, so a file with a
// mistake would fail only in the detached child, whose output goes nowhere.
// The file is therefore checked first, by `sluiced --check` in a child
// process (not in this one: plugins may start threads, which a fork does not
// carry), and a bad file fails the command that tried to start the daemon.

#include <fcntl.h>
#include <malloc.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "SluiceServer.h"
#include "StoreConsole.h"

extern char** environ;

namespace {

bool asksForDaemon(int argc, char** argv) {
    for (int i = 1; i < argc; ++i)
        if (std::strcmp(argv[i], "--daemon") == 0) return true;
    return false;
}

// The exit code of `sluiced ARGS --check`, without the daemon's own options.
int checkFirst(int argc, char** argv) {
    std::vector<std::string> args{"/proc/self/exe"};
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--daemon" || arg.rfind("--pidfile", 0) == 0 || arg.rfind("--umask", 0) == 0) continue;
        args.push_back(arg);
    }
    args.emplace_back("--check");
    std::vector<char*> pointers;
    for (auto& arg : args) pointers.push_back(arg.data());
    pointers.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);  // "configuration OK"
    pid_t child = 0;
    const int spawned = posix_spawn(&child, "/proc/self/exe", &actions, nullptr, pointers.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) {
        std::cerr << "sluiced: cannot check the configuration before starting: " << std::strerror(spawned) << "\n";
        return 1;
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

} // namespace

int main(int argc, char** argv) {
    // A whole answer is buffered in a string of up to 64 MiB. glibc raises
    // its mmap threshold each time such a block is freed, so the next big
    // answers come from the heap, and a heap keeps what it once held: eight
    // concurrent 1 GB answers left 470-610 MB that never went back. A fixed
    // threshold keeps every block over 1 MiB in its own mapping, returned to
    // the system the moment it is freed (a fixed value also turns the
    // dynamic adjustment off). Small blocks, the common case, are unchanged.
    mallopt(M_MMAP_THRESHOLD, 1024 * 1024);
    if (asksForDaemon(argc, argv))
        if (const int checked = checkFirst(argc, argv); checked != 0) return checked;
    try {
        // The operator console's store side lives outside the kernel (admin/).
        sluice::kernel::SluiceServer server(sluice::admin::StoreConsole::make);
        return server.run(argc, argv);
    } catch (const Poco::Exception& e) {
        std::cerr << "sluiced: " << e.displayText() << std::endl;
        return Poco::Util::Application::EXIT_SOFTWARE;
    }
}
