// libpq, PostgreSQL's C client (Debian's libpq-dev installs the header under postgresql/).
#include <postgresql/libpq-fe.h>
