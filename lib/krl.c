#include "config.h"

#include "krl.h"
