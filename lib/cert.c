#include "config.h"

#include "cert.h"
