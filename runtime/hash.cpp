#include "runtime/hash.hpp"
