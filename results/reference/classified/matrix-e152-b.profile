; natlab classify: the NAT between this host and 198.18.0.1:443, 2026-12-01 23:39 UTC (1.9 s).
; The knobs no test here tells (tcp_syn_sent_timeout, udp_stream_timeout,
; and without --timeouts udp_timeout and tcp_established_timeout) keep
; natlab's defaults.
[nat]
; RFC 5780 4.3: the same mapped endpoint toward the server's other address and port
mapping = eim
; mapping_tcp: eim (RFC 5780 4.3 over TCP: the same mapped endpoint toward the server's other address and port)
; 4 new sockets kept their ports (44736->44736, 54012->54012, 40871->40871, 37748->37748)
allocation = preserve
; RFC 5780 4.4: an answer from the server's other port came in, none from its other address (tests II, III)
filtering = adf
; filtering_tcp: adf (a SYN to our mapped endpoint from the server's other port came through, from its other address not (none))
; RFC 5780 4.5: a request to its own mapped endpoint did not come back
hairpin = off
; a SYN from the server to port 53198 of the NAT met nothing (no answer, no error)
unsolicited_syn = drop
; a datagram from the server to port 54475 of the NAT met nothing (no answer, no error)
udp_unsolicited = drop
; the server's SYN from port 43457, to the NAT's entry of our SYN to it (in SYN_SENT), was let through: we answered it, a simultaneous open
syn_in_syn_sent = accept
; the server saw us at 198.19.0.2, not at our own address
translation = on
; our SYNs to every one of 24 ports of the server tried reached it
outbound_tcp = any
; our datagrams to every one of 13 ports of the server tried reached it
outbound_udp = any
