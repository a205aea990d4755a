#include "source/plugins/resources/memory/memory_store.h"
#include "test/store_conformance/store_conformance.h"

INSTANTIATE_STORE_CONFORMANCE(Memory, [] { return kuma::memory::newMemoryStore(); })
