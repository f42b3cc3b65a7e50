/* soap_namespaces.c — the namespace table libgsoap expects every program to define. The gateway
 * parses XML with libxml2, so gSOAP only needs the SOAP envelope namespaces listed here. */
#include "gwsoapH.h"
#include "engine.nsmap"
