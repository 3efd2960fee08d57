"""<openssl/rand.h>: the CSPRNG."""

INCLUDES = """
#include <openssl/rand.h>
"""

TYPES = ""

FUNCTIONS = """
int RAND_bytes(unsigned char *, int);
int RAND_priv_bytes(unsigned char *, int);
int RAND_status(void);
void RAND_add(const void *, int, double);
"""

CUSTOMIZATIONS = ""
