#include "config.h"

#include "sshkey.h"
