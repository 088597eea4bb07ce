#include "client_int.h"
