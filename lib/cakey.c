#include "config.h"

#include "cakey.h"
