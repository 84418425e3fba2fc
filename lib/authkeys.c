#include "config.h"

#include "authkeys.h"
