#include <iostream>

#include "SluiceServer.h"

POCO_SERVER_MAIN(sluice::kernel::SluiceServer)
