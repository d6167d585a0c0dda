// zlib (Debian's zlib1g-dev), used by the tests to decode PNG screenshots.
#include <zlib.h>
