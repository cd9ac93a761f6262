; natlab classify: the NAT between this host and 198.18.0.1:443, 2026-12-01 23:39 UTC (1.1 s).
; The knobs no test here tells (tcp_syn_sent_timeout, udp_stream_timeout,
; and without --timeouts udp_timeout and tcp_established_timeout) keep
; natlab's defaults.
[nat]
; RFC 5780 4.3: the same mapped endpoint toward the server's other address and port
mapping = eim
; mapping_tcp: eim (RFC 5780 4.3 over TCP: the same mapped endpoint toward the server's other address and port)
; 4 new sockets' mappings kept no port and no step (58515->60048, 55123->8183, 56118->40479, 50498->36594)
allocation = random
; RFC 5780 4.4: an answer from the server's other address and port came in (test II)
filtering = eif
; filtering_tcp: eif (SYNs to our mapped endpoint from the server's other address and from its other port came through)
; RFC 5780 4.5: a request to its own mapped endpoint came back in
hairpin = on
; a SYN from the server to port 17705 of the NAT met nothing (no answer, no error)
unsolicited_syn = drop
; a datagram from the server to port 61786 of the NAT met nothing (no answer, no error)
udp_unsolicited = drop
; the server's SYN from port 42945, to the NAT's entry of our SYN to it (in SYN_SENT), was let through: we answered it, a simultaneous open
syn_in_syn_sent = accept
; the server saw us at 198.19.0.1, not at our own address
translation = on
; our SYNs to every one of 24 ports of the server tried reached it
outbound_tcp = any
; our datagrams to every one of 13 ports of the server tried reached it
outbound_udp = any
