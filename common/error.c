#include "tlo_common.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int tlo_fail(tlo_error *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

void tlo_error_clear(tlo_error *err)
{
    if (err) {
        err->code = 0;
        err->msg[0] = '\0';
    }
}

const char *tlo_strerror(int code)
{
    switch (code) {
    case TLO_OK:
        return "success";
    case TLO_EARG:
        return "invalid argument";
    case TLO_ENOMEM:
        return "out of memory";
    case TLO_EIO:
        return "input/output error";
    case TLO_ENOTOBJECT:
        return "not a tellonce object";
    case TLO_EUNSUPPORTED:
        return "unsupported version or parameter";
    case TLO_EHEADER:
        return "header altered";
    case TLO_EWRONGKEY:
        return "wrong key";
    case TLO_ECHUNK:
        return "chunk authentication failed";
    case TLO_ETRUNCATED:
        return "truncated";
    case TLO_ETRAILING:
        return "extra data after the final chunk";
    case TLO_EPASSPHRASE:
        return "wrong passphrase";
    case TLO_EFORMAT:
        return "malformed file";
    case TLO_ERANGE:
        return "out of range";
    case TLO_ECRYPTO:
        return "cryptographic library failure";
    case TLO_ESTATE:
        return "unusable after an earlier failure";
    case TLO_EEXIST:
        return "already exists";
    case TLO_EPROOF:
        return "proof does not verify";
    case TLO_ENOTFOUND:
        return "not found";
    case TLO_EDENIED:
        return "refused";
    }
    return "unknown error";
}
