#pragma once

// File: ssl_release_buffers.h
// Every TLS connection of the process gets OpenSSL's SSL_MODE_RELEASE_BUFFERS: an idle connection
// holds no record-layer buffers (~33 KiB: one read and one write buffer of a full TLS record).
//
// Why an interposer: gRPC (1.51, Debian) builds its SSL_CTX and SSL objects itself and offers no
// hook to set a mode on them, yet it holds one TLS connection per connected proxy for as long as
// the proxy stays. This module defines SSL_new; the dynamic linker binds every caller's SSL_new
// (libgrpc's too) to it, and it forwards to libssl's and adds the mode. Buffers are then taken
// from the allocator per read/write burst and given back when drained, as nginx does by default.
// The mode only changes when buffers live, never what goes on the wire.

namespace kuma::dp_server {

/**
 * True when SSL_new of this process resolves to the interposer, i.e. new SSL objects (gRPC's
 * included) get SSL_MODE_RELEASE_BUFFERS. Referencing it also keeps the interposer linked in.
 */
bool sslReleaseBuffersActive();

}  // namespace kuma::dp_server
