; natlab classify: the NAT between this host and 198.18.0.1:443, 2026-12-01 23:37 UTC (3.3 s).
; The knobs no test here tells (tcp_syn_sent_timeout, udp_stream_timeout,
; and without --timeouts udp_timeout and tcp_established_timeout) keep
; natlab's defaults.
[nat]
; RFC 5780 4.3: a new mapped endpoint toward each of the server's other address and port
mapping = apdm
; mapping_tcp: apdm (RFC 5780 4.3 over TCP: a new mapped endpoint toward each of the server's other address and port)
; 4 new sockets' mappings kept no port and no step (39756->52525, 51676->17478, 57843->52625, 56213->44102)
allocation = random
; RFC 5780 4.4: no answer from another address or port came in (tests II, III)
filtering = apdf
; filtering_tcp: apdf (a SYN to our mapped endpoint from the server's other port met none, from its other address none)
; RFC 5780 4.5: a request to its own mapped endpoint did not come back
hairpin = off
; a SYN from the server to port 20876 of the NAT met nothing (no answer, no error)
unsolicited_syn = drop
; a datagram from the server to port 30507 of the NAT met nothing (no answer, no error)
udp_unsolicited = drop
; the server's SYN from port 42005, to the NAT's entry of our SYN to it (in SYN_SENT), was let through: we answered it, a simultaneous open
syn_in_syn_sent = accept
; the server saw us at 198.19.0.2, not at our own address
translation = on
; our SYNs to every one of 24 ports of the server tried reached it
outbound_tcp = any
; our datagrams to every one of 13 ports of the server tried reached it
outbound_udp = any
