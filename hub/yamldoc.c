#include "yamldoc.h"
