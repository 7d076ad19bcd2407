#include "runtime/supervision/restart_budget.hpp"
