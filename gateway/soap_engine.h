/* soap_engine.h — input to soapcpp2, not compiled directly.
 *
 * The gateway uses gSOAP as its HTTP/SOAP engine (sockets, HTTP/1.1 keep-alive, chunking,
 * TLS) and handles the XML itself with libxml2, so it needs no generated (de)serialisers: this
 * header only gives soapcpp2 enough to emit the soapC.c that libgsoap links against. */
//gsoap gwe service name: engine
//gsoap gwe service namespace: urn:pide-gateway:engine
int gwe__noop(int in, int *out);
