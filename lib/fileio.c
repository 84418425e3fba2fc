#include "config.h"

#include "fileio.h"
