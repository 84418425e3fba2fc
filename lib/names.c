#include "config.h"

#include "names.h"
